"""Conversion passes: pure functions Graph -> Graph."""
