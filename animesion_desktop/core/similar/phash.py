"""A 64-bit perceptual hash (DCT) and the Hamming distance between hashes.

The hash survives another size, another format, recompression and a small crop margin: the
picture is reduced to 32x32 grey, transformed by a 2-D DCT-II, and each of the 64 lowest
frequencies (an 8x8 block, the DC term replaced by its neighbour's sign) becomes one bit: above
the median of the block or not. Computed from the thumbnail (256 px), which the scan already
decoded once, so hashing costs a small JPEG decode per image.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

SIZE = 32
LOW = 8


@lru_cache(maxsize=1)
def _dct_matrix(n: int = SIZE) -> np.ndarray:
    """The orthonormal DCT-II matrix: rows are frequencies."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def phash(image: Image.Image) -> int:
    """The hash as a signed 64-bit integer (how SQLite stores it)."""
    grey = image.convert("L").resize((SIZE, SIZE), Image.Resampling.BOX)
    x = np.asarray(grey, dtype=np.float64)
    c = _dct_matrix()
    low = (c @ x @ c.T)[:LOW, :LOW].reshape(-1)
    low[0] = low[1]  # the DC term is the mean brightness: it says nothing about the picture
    bits = low > np.median(low)
    value = 0
    for bit in bits.tolist():
        value = (value << 1) | int(bit)
    return int(np.array([value], dtype=np.uint64).view(np.int64)[0])


def distance(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise Hamming distances of two int64 arrays."""
    x = np.bitwise_xor(a.astype(np.int64), b.astype(np.int64)).view(np.uint64)
    as_bytes = x.reshape(-1, 1).view(np.uint8)  # [N, 8]
    return np.unpackbits(as_bytes, axis=1).sum(axis=1)
