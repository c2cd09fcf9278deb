"""Verification harness: backends vs the CPU simulator, zero tolerance."""
