"""Lava backend (lava-nc 0.10.0, Loihi2SimCfg fixed_pt)."""
