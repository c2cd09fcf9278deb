"""``python -m neurodeploy`` runs the CLI."""
from neurodeploy.cli import main

main()
