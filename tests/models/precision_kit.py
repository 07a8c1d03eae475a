"""Inputs for the precision tests: smooth blobs, which a network answers stably (white noise
would make every fast path look worse than it is on pictures)."""

from __future__ import annotations

import numpy as np


def blob_images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """[n, 3, size, size] float32: 8x8-pixel blocks of normal noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 3, size // 8, size // 8)).astype(np.float32)
    return np.repeat(np.repeat(base, 8, axis=2), 8, axis=3)
