"""Near-duplicate groups from perceptual hashes: every pair within ``max_distance`` bits.

Exact for ``max_distance <= 7`` without comparing all pairs: the 64 bits are four 16-bit bands,
and two hashes within 7 bits agree on some band up to one bit (pigeonhole). So each band is
joined with itself and with its 16 one-bit variants (sorted arrays, ``searchsorted``), the
candidate pairs are checked on all 64 bits, and groups are the connected components
(union-find). A million hashes make 68 joins of a million rows each.
"""

from __future__ import annotations

import numpy as np

from animesion_desktop.core.similar.phash import distances

MAX_DISTANCE = 7  # bits of 64; the largest value the band search is exact for
_BANDS = 4
_MASKS = np.array([0] + [1 << b for b in range(16)], dtype=np.uint64)


def _band(h: np.ndarray, b: int) -> np.ndarray:
    return (h.view(np.uint64) >> np.uint64(16 * b)) & np.uint64(0xFFFF)


def candidate_pairs(hashes: np.ndarray) -> np.ndarray:
    """[P, 2] index pairs (i < j) that may be within 7 bits."""
    out = []
    for b in range(_BANDS):
        band = _band(hashes, b)
        order = np.argsort(band, kind="stable")
        sorted_band = band[order]
        for mask in _MASKS:
            keys = band ^ mask
            lo = np.searchsorted(sorted_band, keys, side="left")
            hi = np.searchsorted(sorted_band, keys, side="right")
            counts = hi - lo
            has = np.flatnonzero(counts)
            if not len(has):
                continue
            left = np.repeat(has, counts[has])
            # positions lo..hi-1 for each left index, flattened
            starts = np.repeat(lo[has], counts[has])
            offsets = np.arange(len(left)) - np.repeat(np.cumsum(counts[has]) - counts[has],
                                                       counts[has])
            right = order[starts + offsets]
            keep = left < right
            out.append(np.stack([left[keep], right[keep]], axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(out), axis=0)


def group_labels(hashes: np.ndarray, max_distance: int = MAX_DISTANCE) -> np.ndarray:
    """For each hash, the index of the first member of its group, or -1 if it has none."""
    if not 0 <= max_distance <= MAX_DISTANCE:
        raise ValueError(f"max_distance must be 0..{MAX_DISTANCE}, got {max_distance}")
    n = len(hashes)
    parent = np.arange(n)
    pairs = candidate_pairs(hashes)
    if len(pairs):
        near = distances(hashes[pairs[:, 0]], hashes[pairs[:, 1]]) <= max_distance
        pairs = pairs[near]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for a, b in pairs.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the smallest index leads
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    sizes = np.bincount(roots, minlength=n)
    return np.where(sizes[roots] > 1, roots, -1)
