"""Train/val/test splits: the data set's own files when it has them, else stratified and seeded.

Whatever was used is written to `splits.json` in the run folder (relative paths per split), so
evaluation and export see exactly the images training held out.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.data.samples import SPLITS, LabelledSet
from training.errors import DataError

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def stratified_split(
    keys: list[str | None], fractions: tuple[float, float, float] = DEFAULT_FRACTIONS, seed: int = 0
) -> list[str]:
    """A split name per item; every class is cut with the same fractions.

    Rounding is per class, so a class of 7 still gets one val and one test image when both
    fractions are non-zero; a class of one stays in train.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"fractions must be three non-negative numbers, got {fractions}")
    total = sum(fractions)
    f_train, f_val, f_test = (f / total for f in fractions)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        groups["" if key is None else key].append(i)
    rng = np.random.default_rng(seed)
    result = ["train"] * len(keys)
    for key in sorted(groups):
        members = groups[key]
        order = [members[j] for j in rng.permutation(len(members))]
        n = len(order)
        n_val = int(round(n * f_val))
        n_test = int(round(n * f_test))
        if n >= 3:
            n_val = max(n_val, 1 if f_val > 0 else 0)
            n_test = max(n_test, 1 if f_test > 0 else 0)
        # Keep at least one training image per class whenever training gets anything.
        while n_val + n_test > n - (1 if f_train > 0 else 0) and (n_val or n_test):
            if n_val >= n_test and n_val:
                n_val -= 1
            else:
                n_test -= 1
        for i in order[:n_val]:
            result[i] = "val"
        for i in order[n_val : n_val + n_test]:
            result[i] = "test"
    return result


@dataclass
class SplitPlan:
    source: str  # "files", "files, val from train" or "generated"
    seed: int
    fractions: tuple[float, float, float]
    indices: dict[str, list[int]]

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.indices.items()}

    def to_json(self, ds: LabelledSet) -> dict:
        return {
            "source": self.source,
            "seed": self.seed,
            "fractions": list(self.fractions),
            "counts": self.counts(),
            "splits": {k: [ds.relpath(ds.samples[i]) for i in v] for k, v in self.indices.items()},
        }

    def save(self, path: Path, ds: LabelledSet) -> None:
        path.write_text(json.dumps(self.to_json(ds), indent=1) + "\n", encoding="utf-8")


def plan_splits(
    ds: LabelledSet, seed: int = 0, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> SplitPlan:
    keys = [s.character for s in ds.samples]
    if ds.split_of is None:
        names = stratified_split(keys, fractions, seed)
        source = "generated"
    else:
        names = list(ds.split_of)
        source = "files"
        if "val" not in names:
            # Animesion's moeImouto/iCartoonFace files have train and test only: carve val out
            # of train with the same proportion val has to train in `fractions`.
            train = [i for i, n in enumerate(names) if n == "train"]
            sub = stratified_split(
                [keys[i] for i in train], (fractions[0], fractions[1], 0.0), seed
            )
            for i, name in zip(train, sub, strict=True):
                names[i] = name
            source = "files, val from train"
    indices = {split: [i for i, n in enumerate(names) if n == split] for split in SPLITS}
    return SplitPlan(source=source, seed=seed, fractions=tuple(fractions), indices=indices)  # type: ignore[arg-type]


def load_splits(path: Path, ds: LabelledSet) -> SplitPlan:
    """Re-apply a recorded splits.json to a freshly read data set (matched by relative path)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        recorded = data["splits"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"cannot read recorded splits ({exc})", path) from None
    position = {ds.relpath(s): i for i, s in enumerate(ds.samples)}
    indices: dict[str, list[int]] = {}
    missing = 0
    for split in SPLITS:
        indices[split] = []
        for rel in recorded.get(split, []):
            if rel in position:
                indices[split].append(position[rel])
            else:
                missing += 1
    if missing and not any(indices.values()):
        raise DataError("none of the recorded images are in this data set", path)
    if missing:
        ds.notes.append(f"{path}: {missing} recorded images are no longer in the data set")
    return SplitPlan(
        source=f"recorded ({data.get('source', '?')})",
        seed=int(data.get("seed", 0)),
        fractions=tuple(data.get("fractions", DEFAULT_FRACTIONS)),  # type: ignore[arg-type]
        indices=indices,
    )
