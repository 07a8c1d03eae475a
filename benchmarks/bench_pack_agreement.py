"""The exported pack in the app gives the top-1 that `animesion-train evaluate` reports.

Given a training run folder (its best.pt, config and splits.json), this

1. exports the pack (`animesion-train export-pack RUN/best.pt`),
2. installs it in a temporary library (`animesion packs install`),
3. copies the run's test-split images (the seeded split evaluate uses, read the same way) into
   a temporary folder, one sub-folder per character, and scans it (`animesion scan`),
4. tags them (`animesion tag --precision auto`, or --precision),
5. scores the predictions the library stored against the folder labels (top-1), and
6. runs `animesion-train evaluate RUN/best.pt --split test` (the training side's forward and
   transforms) and, for the diagnosis, `evaluate PACK --precision auto` (the pack's predictor
   with the training side's decoding),

then prints the three top-1 figures, the difference, what auto chose and the images on which
the app and evaluate disagree. Nothing it writes is kept.

    .venv/bin/python benchmarks/bench_pack_agreement.py --run /work/bench/train-runs/default-10
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_scores import command, precision_line, stored_scores  # noqa: E402

GOAL_POINTS = 0.3


def test_samples(run: Path) -> tuple[list, Path]:
    """The run's test split as evaluate reads it: (samples, data root)."""
    from training.checkpoint import load_checkpoint
    from training.config import config_from_dict
    from training.data.labels import LabelSpace
    from training.rundata import load_run_data

    ckpt = load_checkpoint(run / "best.pt")
    cfg = config_from_dict(ckpt["config"])
    data = load_run_data(cfg, space=LabelSpace.from_dict(ckpt["labels"]),
                         splits_file=run / "splits.json", quiet=True)
    return data.samples("test"), Path(data.ds.root)


def copy_name(sample, root: Path) -> str:
    """Where a test image is copied: under its character's folder, its path flattened."""
    return f"{sample.character}/{'__'.join(sample.path.relative_to(root).parts)}"


def evaluate_top1(source: Path, out: Path, *extra: str) -> tuple[float, dict[str, str]]:
    """`animesion-train evaluate SOURCE --split test`: character top-1 (%) and the predicted
    character of each misclassified image (relative path -> name)."""
    command("animesion-train", "evaluate", source, "--split", "test", "--out", out, *extra)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    wrong = {}
    with open(out / "character_misclassified.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            wrong[row["path"]] = row["predicted"]
    return 100 * float(results["heads"]["character"]["top1"]), wrong


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, default=Path("/work/bench/train-runs/default-10"),
                    help="a training run folder (best.pt, splits.json)")
    ap.add_argument("--precision", default="auto", choices=("auto", "fp32", "int8", "bf16", "fp16"))
    args = ap.parse_args()
    run = args.run
    if not (run / "best.pt").is_file():
        print(f"{run}: no best.pt (give --run a finished training run folder)")
        return 2
    samples, root = test_samples(run)
    print(f"run {run}: {len(samples)} test images from {root}")
    with tempfile.TemporaryDirectory(prefix="bench-pack-agreement-") as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "lib.sqlite"
        t0 = time.perf_counter()
        command("animesion-train", "export-pack", run / "best.pt", "--out", tmp / "pack",
                "--name", "bench")
        command("animesion", "--library", db, "packs", "install", tmp / "pack")
        images = tmp / "images"
        truth: dict[str, str] = {}
        for sample in samples:
            dest = images / copy_name(sample, root)  # <character>/...: the folder is the label
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(sample.path, dest)
            truth[copy_name(sample, root)] = sample.character
        command("animesion", "--library", db, "scan", images)
        tagged = command("animesion", "--library", db, "tag", "--precision", args.precision)
        chosen = precision_line(tagged)
        scores = stored_scores(db, "bench")
        app: dict[str, str] = {}
        for rel in truth:
            ranked = scores.get(rel, {})
            app[rel] = max(ranked, key=lambda name: ranked[name]) if ranked else "(none)"
        app_top1 = 100 * sum(app[r] == truth[r] for r in truth) / len(truth)

        ckpt_top1, ckpt_wrong = evaluate_top1(run / "best.pt", tmp / "eval-ckpt")
        pack_top1, _ = evaluate_top1(tmp / "pack", tmp / "eval-pack", "--data", str(root),
                                     "--splits", str(run / "splits.json"),
                                     "--precision", args.precision)
        seconds = time.perf_counter() - t0

    # evaluate names images relative to the data root; the copies are <character>/<name>
    evaluated = {copy_name(sample, root): ckpt_wrong.get(sample.path.relative_to(root).as_posix(),
                                                         sample.character)
                 for sample in samples}
    differ = sorted(r for r in truth if app[r] != evaluated[r])
    print(f"animesion tag --precision {args.precision} (stored predictions): "
          f"top-1 {app_top1:.2f} %  [precision: {chosen}]")
    print(f"animesion-train evaluate best.pt --split test:       top-1 {ckpt_top1:.2f} %")
    print(f"animesion-train evaluate PACK --precision {args.precision}:    "
          f"top-1 {pack_top1:.2f} %")
    diff = app_top1 - ckpt_top1
    verdict = "within" if abs(diff) <= GOAL_POINTS else "NOT within"
    print(f"difference (app - evaluate): {diff:+.2f} points; {verdict} {GOAL_POINTS} points")
    print(f"images whose top-1 differs between the app and evaluate: {len(differ)} of "
          f"{len(truth)}")
    for rel in differ[:10]:
        print(f"  {rel}: app {app[rel]}, evaluate {evaluated[rel]}, truth {truth[rel]}")
    print(f"({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
