"""The CLI's commands, grouped by stage; :mod:`neurodeploy.cli` assembles them."""
