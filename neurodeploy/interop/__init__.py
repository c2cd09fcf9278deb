"""Interoperability with other neuromorphic toolchains.

* :mod:`~neurodeploy.interop.nir_policy`: what NIR (the Neuromorphic Intermediate
  Representation, ``nir`` 1.0.x) can express of an integer IR graph: refusals, loss notes and
  exact-translation notes.
* :mod:`~neurodeploy.interop.nir_export`: IR graph -> NIR graph and its file (``nir.write``).
* :mod:`~neurodeploy.interop.nir_peer`: re-simulation of an exported file in a peer framework's
  NIR importer (Norse; a test- and benchmark-only dependency) and the comparison with the
  integer simulator.

``nir`` (the ``nir`` extra) and the peer are imported only when these functions run, so
importing neurodeploy never needs them.
"""
