"""The data of a run: the data set, its splits and the label space, read the same way by
train, evaluate and export so all three see the same images and class order."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from training.config import TrainConfig
from training.data.labels import LabelSpace
from training.data.samples import LabelledSet, Sample
from training.data.sources import fingerprint, open_dataset
from training.data.splits import SplitPlan, load_splits, plan_splits


@dataclass
class RunData:
    ds: LabelledSet
    plan: SplitPlan
    space: LabelSpace
    fingerprint: str

    def samples(self, split: str) -> list[Sample]:
        return [self.ds.samples[i] for i in self.plan.indices.get(split, [])]

    def describe(self) -> dict:
        return {
            "kind": self.ds.kind,
            "path": str(self.ds.root),
            "fingerprint": self.fingerprint,
            "images": len(self.ds.samples),
            "splits": {"source": self.plan.source, **self.plan.counts()},
            "heads": self.space.sizes(),
            "notes": list(self.ds.notes),
        }


def synthetic_params(cfg: TrainConfig) -> dict:
    return {
        "n_characters": cfg.synthetic_characters,
        "per_character": cfg.synthetic_per_character,
        "size": cfg.synthetic_size,
        "seed": cfg.synthetic_seed,
        "image_seed": cfg.synthetic_image_seed,
    }


def default_data_path(cfg: TrainConfig) -> str:
    """Synthetic data without --data is generated inside the run folder."""
    return cfg.data or str(Path(cfg.out) / "synthetic-data")


def load_run_data(
    cfg: TrainConfig,
    *,
    space: LabelSpace | None = None,
    splits_file: Path | None = None,
    quiet: bool = False,
) -> RunData:
    """Read the data set, then its splits (a recorded splits.json when given and present) and
    the label space (the checkpoint's when given, so outputs keep their order)."""
    path = default_data_path(cfg) if cfg.dataset == "synthetic" else cfg.data
    ds = open_dataset(cfg.dataset, path, synthetic=synthetic_params(cfg))
    if splits_file is not None and Path(splits_file).is_file():
        plan = load_splits(Path(splits_file), ds)
    else:
        plan = plan_splits(ds, seed=cfg.seed, fractions=tuple(cfg.split_fractions))  # type: ignore[arg-type]
    if space is None:
        train = [ds.samples[i] for i in plan.indices["train"]]
        space = LabelSpace.build(
            ds.samples, tag_samples=train, classes=ds.classes, heads=cfg.heads,
            min_tag_count=cfg.min_tag_count,
        )
        if not space.heads:
            from training.errors import DataError

            raise DataError("no labels for any head in this data set", ds.root)
    if not quiet:
        for note in ds.notes:
            print(f"note: {note}", file=sys.stderr)
    return RunData(ds=ds, plan=plan, space=space, fingerprint=fingerprint(ds))


def write_run_data(run: RunData, out: Path) -> None:
    run.plan.save(out / "splits.json", run.ds)
    (out / "data.json").write_text(json.dumps(run.describe(), indent=2) + "\n", encoding="utf-8")
