"""Datasets: sklearn digits and MNIST from local IDX files (never downloaded)."""
