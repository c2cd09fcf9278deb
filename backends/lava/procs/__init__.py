"""Lava Process and ProcessModel classes only (Lava executes every file here at compile time)."""
