"""Data sets, synthetic data, training, evaluation and pack export."""
