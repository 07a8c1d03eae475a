"""`animesion-train demo-pack`: the pack the app ships, from synthetic characters only.

One command, CPU, minutes: draw 20 toy characters x 100 pictures, train the shallow network
at 56 px (small enough for a < 10 MB pack) with character, copyright, general-tag and rating
heads, export it with thresholds from the validation split, then score the pack - through the
app's own predictor - on a freshly drawn test set (same characters, new pictures) and record
that in pack.json.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from models.pack import ModelPack
from training.config import TrainConfig
from training.errors import TrainingError
from training.evaluate import evaluate
from training.export import export_pack
from training.loop import train
from training.synthetic import SyntheticSpec, write_dataset

DEMO_NAME = "animesion-demo"
FRESH_IMAGE_SEED = 1000  # any seed the training pictures did not use


def demo_config(work: Path, minutes: float, quick: bool) -> tuple[TrainConfig, SyntheticSpec]:
    if quick:  # a smoke-sized version for tests: seconds, well above chance, not 95 %
        train_spec = SyntheticSpec(n_characters=6, per_character=24, size=32, seed=0)
        fresh = SyntheticSpec(n_characters=6, per_character=10, size=32, seed=0,
                              image_seed=FRESH_IMAGE_SEED)
        cfg = TrainConfig(image_size=32, resize_margin=4, epochs=6, batch_size=16, workers=0,
                          log_every=0)
    else:
        train_spec = SyntheticSpec(n_characters=20, per_character=100, size=64, seed=0)
        fresh = SyntheticSpec(n_characters=20, per_character=50, size=64, seed=0,
                              image_seed=FRESH_IMAGE_SEED)
        cfg = TrainConfig(image_size=56, resize_margin=8, epochs=15, batch_size=64,
                          max_minutes=minutes, log_every=50)
    cfg.dataset = "synthetic"
    cfg.data = str(work / "data")
    cfg.out = str(work / "run")
    cfg.model = "shallow"  # 56 px: 2 M parameters, 8 MB of weights
    cfg.optimizer = "adamw"
    cfg.lr = 0.002
    cfg.weight_decay = 0.05
    cfg.seed = 0
    cfg.synthetic_characters = train_spec.n_characters
    cfg.synthetic_per_character = train_spec.per_character
    cfg.synthetic_size = train_spec.size
    cfg.synthetic_seed = train_spec.seed
    return cfg.validate(), fresh


def _replace_pack_folder(out: Path) -> None:
    """Only ever delete a folder that is a pack (or empty): never a mistyped --out."""
    if not out.exists():
        return
    if out.is_dir() and (not any(out.iterdir()) or (out / "pack.json").is_file()):
        shutil.rmtree(out)
        return
    raise TrainingError(f"{out}: exists and is not a pack folder; choose another --out")


def build_demo_pack(out: Path | str, *, work: Path | str, minutes: float = 9.0,
                    quick: bool = False) -> ModelPack:
    out, work = Path(out), Path(work)
    cfg, fresh_spec = demo_config(work, minutes, quick)
    result = train(cfg)
    fresh_dir = write_dataset(work / "fresh-test", fresh_spec)

    # Score the exported pack as the app will run it, then write the final pack with that score.
    draft = work / "draft-pack"
    _replace_pack_folder(draft)
    export_pack(result.best_path, draft, name=DEMO_NAME)
    report = evaluate(draft, out=work / "fresh-eval", dataset="export", data=str(fresh_dir),
                      split="all", compare=True)
    fresh: dict[str, Any] = {
        "images": report["data"]["evaluated_images"],
        "spec": asdict(fresh_spec),
        "predictor": report.get("timing", {}).get("device"),
    }
    for head, numbers in report["heads"].items():
        keep = ("top1", "top5", "ece", "mAP", "at_pack_thresholds")
        fresh[head] = {k: v for k, v in numbers.items() if k in keep}
    compare = report["compare_precision"]["heads"].get("character", {})
    fresh["fp32_vs_optimized_top1_points"] = compare.get("delta_points")
    recipe = {
        "command": "animesion-train demo-pack --out resources/packs/demo",
        "training_minutes": round(result.elapsed_seconds / 60, 2),
        "best_epoch": result.best_epoch,
        "stopped_by": result.stopped_by,
    }
    _replace_pack_folder(out)
    pack = export_pack(result.best_path, out, name=DEMO_NAME,
                       extra_metrics={"fresh_synthetic_test": fresh, "recipe": recipe})
    shutil.rmtree(draft, ignore_errors=True)
    top1 = fresh.get("character", {}).get("top1", 0.0)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"demo pack: {out} ({size / 1e6:.1f} MB), fresh synthetic test top-1 {top1:.2%}",
          file=sys.stderr)
    if not quick and top1 < 0.95:
        print("warning: top-1 on the fresh test set is below 95 %", file=sys.stderr)
    return pack
