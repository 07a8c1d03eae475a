"""Stratified, seeded train/val/test splits by character, and the min-per-class rule.

The same rule as the training package's own splitter (which the app may not import): every
class is cut with the same fractions, a class of three or more gets at least one val and one
test image, and at least one image stays in train.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence


def stratified_split(keys: Sequence[str], fractions: Sequence[float], seed: int,
                     ids: Sequence[str] | None = None) -> list[str]:
    """A split name per item. ``ids`` (content hashes) order each class by a seeded hash of the
    image rather than by position, so an image keeps its split from one export to the next
    unless its class grows across a boundary: a new pack is then compared with the old one on
    images the old one was not trained on."""
    ids = list(ids) if ids is not None else [str(i) for i in range(len(keys))]
    total = sum(fractions)
    f_train, f_val, f_test = (f / total for f in fractions)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        groups[key].append(i)
    result = ["train"] * len(keys)
    for key in sorted(groups):
        members = sorted(groups[key],
                         key=lambda i: hashlib.sha256(f"{seed}:{ids[i]}".encode()).digest())
        n = len(members)
        n_val, n_test = round(n * f_val), round(n * f_test)
        if n >= 3:
            n_val = max(n_val, 1 if f_val > 0 else 0)
            n_test = max(n_test, 1 if f_test > 0 else 0)
        while n_val + n_test > n - (1 if f_train > 0 else 0) and (n_val or n_test):
            if n_val >= n_test and n_val:
                n_val -= 1
            else:
                n_test -= 1
        for i in members[:n_val]:
            result[i] = "val"
        for i in members[n_val : n_val + n_test]:
            result[i] = "test"
    return result


def small_classes(keys: Sequence[str | None], minimum: int) -> dict[str, int]:
    """Characters with fewer than ``minimum`` images, and their counts."""
    counts: dict[str, int] = defaultdict(int)
    for key in keys:
        if key is not None:
            counts[key] += 1
    return {k: n for k, n in counts.items() if n < minimum}
