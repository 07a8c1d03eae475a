"""Training benchmarks, printed (never asserted).

Accuracy against time (the default): `animesion-train train --dataset folder --data D
--max-minutes M` with nothing else (the default recipe: ImageNet EfficientNet-Lite0,
fine-tuned) next to a ResNet-18 from scratch (`--recipe scratch`), for M = 1, 2, 5, 10 minutes,
each scored on the held-out test split of moeimouto10 (80/10/10, seeded). That is 36 minutes of
training; the runs alternate between the two so that a change of machine load hits both.

    .venv/bin/python benchmarks/bench_train.py [--minutes 1 2 5 10] [--old-default]

Skips with a message when ../shared/data/moeimouto10 is absent. Nothing it writes (runs,
checkpoints) is kept unless `--keep DIR` names a folder for them.

Training throughput (`--throughput`): the real data loader (image files, decoding, augmentation
in workers) against tensors already in memory, side by side, for resnet18 and vit_b16 at 128 px.

    .venv/bin/python benchmarks/bench_train.py --throughput [--data DIR] [--steps 6]

Reads /work/shared/data/moeimouto10 (or --data, a folder per character) when present, else
draws synthetic characters at 160 px into a temporary folder. Measurements alternate
memory, files, files, memory so that a change of machine load during the run hits both sides
alike. Prints steps/s of each and their ratio (target: files >= 0.9 x memory).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.registry import create_model  # noqa: E402
from training.data.dataset import ImageFileDataset, InMemoryDataset  # noqa: E402
from training.data.labels import LabelSpace, TargetEncoder  # noqa: E402
from training.data.loader import default_workers, make_loader  # noqa: E402
from training.data.sources import open_dataset  # noqa: E402
from training.data.transforms import (  # noqa: E402
    BatchColorJitter,
    Normalizer,
    TransformOptions,
    eval_transform,
    train_transform,
)
from training.losses import MultiHeadLoss  # noqa: E402

MOEIMOUTO = Path("/work/shared/data/moeimouto10")
BATCH = {"resnet18": 32, "vit_b16": 16}


def measure(model, loss_fn, prepare, optimizer, loader, steps: int, warmup: int) -> float:
    """Steps per second over `steps` training steps after `warmup` untimed ones. `prepare` is
    the batch-side part of the training step (colour jitter, normalisation) on both sides."""
    model.train()
    it = iter(loader)
    done, start = 0, 0.0
    while done < warmup + steps:
        try:
            images, targets = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        if done == warmup:
            start = time.perf_counter()
        logits = model(prepare(images))
        loss, _ = loss_fn(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done += 1
    return steps / (time.perf_counter() - start)


# label -> the flags of `animesion-train train` besides --dataset/--data/--max-minutes/--out
RECIPES = {
    "default recipe": {},
    "resnet18 scratch": {"recipe": "scratch"},
}
# The defaults before the recipe existed: ResNet-18 from scratch, SGD lr 1e-3, batch 32, 10 epochs.
OLD_DEFAULT = {"recipe": "custom", "epochs": 1000}


def train_and_score(data: Path, minutes: float, flags: dict, out: Path) -> tuple[float, dict]:
    """Test top-1 of one budgeted run (best checkpoint by validation top-1)."""
    import contextlib
    import io

    from training.config import resolve_with_recipe
    from training.evaluate import evaluate
    from training.loop import train

    given = {"dataset": "folder", "data": str(data), "max_minutes": minutes, "out": str(out),
             **flags}
    cfg, _, description = resolve_with_recipe({}, given)
    with contextlib.redirect_stderr(io.StringIO()):  # the per-step log would drown the table
        result = train(cfg)
        report = evaluate(result.best_path, out=out / "eval", split="test")
    top1 = float(report["heads"]["character"]["top1"])
    return top1, {"steps": result.steps, "epochs": result.epochs_run,
                  "minutes": result.elapsed_seconds / 60, "recipe": description}


def accuracy_table(args: argparse.Namespace) -> int:
    data = args.data or MOEIMOUTO
    if not data.is_dir():
        print(f"skipped: {data} is not here (the accuracy table needs moeimouto10)")
        return 0
    recipes = dict(RECIPES)
    if args.old_default:
        recipes["old default (sgd)"] = OLD_DEFAULT
    print(f"data: {data}; test split of a seeded 80/10/10 split; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    rows: dict[float, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-train-acc-") as scratch:
        tmp = str(args.keep) if args.keep else scratch
        for minutes in args.minutes:
            for label, flags in recipes.items():
                out = Path(tmp) / f"{label.split()[0]}-{minutes:g}"
                top1, info = train_and_score(data, minutes, flags, out)
                rows.setdefault(minutes, {})[label] = f"{100 * top1:.1f} %"
                print(f"  {minutes:g} min, {label}: test top-1 {100 * top1:.1f} % "
                      f"({info['steps']} steps, {info['epochs']} epochs, "
                      f"{info['minutes']:.1f} min; load {os.getloadavg()[0]:.1f}) "
                      f"[{info['recipe']}]", flush=True)
    labels = list(recipes)
    print()
    print("| minutes | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for minutes, row in rows.items():
        print(f"| {minutes:g} | " + " | ".join(row.get(lab, "-") for lab in labels) + " |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throughput", action="store_true",
                        help="measure loader throughput instead of accuracy against time")
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--old-default", action="store_true",
                        help="also train with the pre-recipe defaults (SGD, batch 32)")
    parser.add_argument("--data", type=Path, help="folder per character (default: moeimouto10)")
    parser.add_argument("--keep", type=Path,
                        help="write the runs here and keep them (e.g. to install a run's pack)")
    parser.add_argument("--models", nargs="+", default=["resnet18", "vit_b16"])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    return throughput(args) if args.throughput else accuracy_table(args)


def throughput(args: argparse.Namespace) -> int:
    tmp = None
    if args.data is None and MOEIMOUTO.is_dir():
        ds = open_dataset("folder", MOEIMOUTO)
        source = f"moeimouto10 ({len(ds.samples)} PNG files, ~160 px)"
    elif args.data is not None:
        ds = open_dataset("folder", args.data)
        source = f"{args.data} ({len(ds.samples)} files)"
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-train-")
        ds = open_dataset("synthetic", tmp.name, synthetic={
            "n_characters": 10, "per_character": 60, "size": 160})
        source = "synthetic (600 PNG files, 160 px)"
    space = LabelSpace.build(ds.samples, heads=["character"])
    encoder = TargetEncoder(space)
    opts = TransformOptions(image_size=args.image_size)
    workers = default_workers() if args.workers is None else args.workers
    print(f"data: {source}; image size {args.image_size}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} cores; loader workers {workers}")
    print(f"{'model':<10} {'batch':>5} {'memory steps/s':>15} {'files steps/s':>14} {'ratio':>6}")

    for name in args.models:
        batch = BATCH.get(name, 16)
        torch.manual_seed(0)
        model = create_model(name, heads=space.sizes(), image_size=args.image_size)
        loss_fn = MultiHeadLoss({"character": "softmax"})
        prepare = torch.nn.Sequential(BatchColorJitter(opts.color_jitter), Normalizer())
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        n_memory = batch * 4
        memory = InMemoryDataset.from_dataset(ImageFileDataset(
            ds.samples[:n_memory], encoder, eval_transform(opts), opts.decode_size(False)))
        memory_loader = make_loader(memory, batch_size=batch, train=True, workers=0)
        files = ImageFileDataset(ds.samples, encoder, train_transform(opts), opts.decode_size(True))
        file_loader = make_loader(files, batch_size=batch, train=True, workers=workers)
        rates: dict[str, list[float]] = {"memory": [], "files": []}
        for kind in ("memory", "files", "files", "memory"):
            loader = memory_loader if kind == "memory" else file_loader
            rates[kind].append(measure(model, loss_fn, prepare, optimizer, loader,
                                       args.steps, args.warmup))
        mem = sum(rates["memory"]) / 2
        fil = sum(rates["files"]) / 2
        print(f"{name:<10} {batch:>5} {mem:>15.3f} {fil:>14.3f} {fil / mem:>6.2f}", flush=True)
        del file_loader  # stop its persistent workers before the next model
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
