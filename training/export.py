"""`animesion-train export-pack CKPT --out DIR`: a checkpoint becomes a model pack.

Thresholds are chosen on the validation split (max F1): per tag for the general head, one per
head for the single-label heads (one-vs-rest over all classes, so rare characters do not get a
threshold fitted to two images). Test-split metrics are recorded beside them, and provenance
says which config, data and code produced the pack.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.labels import Label
from models.pack import ModelPack, write_pack
from models.spec import HeadSpec, InputSpec
from training.checkpoint import load_checkpoint
from training.config import TrainConfig, config_from_dict
from training.data.dataset import ImageFileDataset
from training.data.labels import LabelSpace, TargetEncoder
from training.data.loader import make_loader
from training.data.samples import HEAD_KINDS, Sample
from training.data.transforms import Normalizer, TransformOptions, eval_transform
from training.metrics import (
    best_f1_thresholds,
    expected_calibration_error,
    f1_at,
    macro_accuracy,
    mean_average_precision,
    topk_accuracy,
)
from training.modeling import model_from_checkpoint
from training.outputs import Outputs, collect_outputs
from training.rundata import load_run_data

_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


PATH_KEYS = ("data", "out", "transfer", "resume", "pretrained")


def portable_config(config: dict) -> dict:
    """The training config as a pack records it: folder and checkpoint paths by name only, since
    a pack is shared and the full paths would tell everyone the trainer's folder layout (and
    often their user name) while meaning nothing on another machine."""
    out = dict(config)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value:
            out[key] = Path(value).name
    return out


def recipe_summary(config: dict) -> dict:
    """What the recipe resolved to, in the few fields a reader of the pack looks for."""
    keys = ("recipe", "model", "pretrained", "optimizer", "lr", "weight_decay", "batch_size",
            "image_size", "label_smoothing", "scheduler", "max_minutes")
    out = {k: config.get(k) for k in keys}
    if isinstance(out["pretrained"], str) and out["pretrained"] != "imagenet":
        out["pretrained"] = Path(out["pretrained"]).name  # a path: its name only, as above
    return out


def code_revision() -> str | None:
    """`git rev-parse HEAD` of the checkout this code runs from, when there is one."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    revision = result.stdout.strip()
    return revision if result.returncode == 0 and revision else None


def code_modified() -> bool | None:
    """Whether the checkout has uncommitted changes (the revision alone would not say so)."""
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(result.stdout.strip()) if result.returncode == 0 else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def run_checkpoint(
    ckpt: dict[str, Any], samples: list[Sample], space: LabelSpace, *,
    device: torch.device | str = "cpu", workers: int | None = None, batch_size: int = 64,
) -> Outputs:
    """Probabilities of the checkpoint's model on `samples` (eval transforms, no augmentation)."""
    cfg = config_from_dict(ckpt["config"])
    device = torch.device(device)
    model = model_from_checkpoint(ckpt).to(device).eval()
    opts = TransformOptions.from_config(cfg)
    data = ImageFileDataset(samples, TargetEncoder(space), eval_transform(opts),
                            opts.decode_size(False))
    loader = make_loader(data, batch_size=batch_size, train=False, workers=workers)
    return collect_outputs(model, loader, device=device, normalizer=Normalizer(opts.mean, opts.std))


def choose_thresholds(outputs: Outputs, space: LabelSpace) -> dict[str, np.ndarray]:
    thresholds: dict[str, np.ndarray] = {}
    for head, names in space.heads.items():
        probs = outputs.probs.get(head)
        targets = outputs.targets.get(head)
        if probs is None or targets is None or len(probs) == 0:
            thresholds[head] = np.full(len(names), 0.5)
        elif HEAD_KINDS[head] == "sigmoid":
            thresholds[head] = best_f1_thresholds(probs, targets)
        else:
            keep = targets != -100
            onehot = np.zeros_like(probs[keep])
            onehot[np.arange(int(keep.sum())), targets[keep]] = 1.0
            flat = best_f1_thresholds(probs[keep].reshape(-1, 1), onehot.reshape(-1, 1))
            thresholds[head] = np.full(len(names), float(flat[0]))
    return thresholds


def summarize(outputs: Outputs, space: LabelSpace, thresholds: dict[str, np.ndarray]) -> dict:
    """The headline numbers of each head (what pack.json records)."""
    summary: dict[str, Any] = {}
    for head, names in space.heads.items():
        if head not in outputs.probs or head not in outputs.targets:
            continue
        probs, targets = outputs.probs[head], outputs.targets[head]
        if HEAD_KINDS[head] == "sigmoid":
            m, _ = mean_average_precision(probs, targets)
            f = f1_at(probs, targets, thresholds[head])
            summary[head] = {"mAP": m, "micro_f1": f["micro_f1"], "macro_f1": f["macro_f1"],
                             "images": int((targets[:, 0] >= 0).sum())}
        else:
            summary[head] = {
                "top1": topk_accuracy(probs, targets, 1),
                "top5": topk_accuracy(probs, targets, 5),
                "macro_accuracy": macro_accuracy(probs, targets, len(names)),
                "ece": expected_calibration_error(probs, targets),
                "images": int((targets != -100).sum()),
            }
    return summary


def _category(head: str) -> str:
    return head if head in ("character", "copyright", "general", "rating") else "general"


def build_heads(space: LabelSpace, thresholds: dict[str, np.ndarray]) -> list[HeadSpec]:
    return [
        HeadSpec(
            name=head,
            activation=HEAD_KINDS[head],
            labels=tuple(Label(n, _category(head), float(round(t, 6)))
                         for n, t in zip(names, thresholds[head], strict=True)),
        )
        for head, names in space.heads.items()
    ]


def input_spec(cfg: TrainConfig) -> InputSpec:
    opts = TransformOptions.from_config(cfg)
    # Evaluation resizes to a square without keeping the aspect ratio: that is "stretch".
    return InputSpec(size=cfg.image_size, resize="stretch", mean=opts.mean, std=opts.std)


def export_pack(
    checkpoint: Path | str,
    out: Path | str,
    *,
    name: str | None = None,
    version: str = "1.0.0",
    dataset: str | None = None,
    data: str | None = None,
    extra_metrics: dict[str, Any] | None = None,
    workers: int | None = None,
    device: str = "cpu",
) -> ModelPack:
    checkpoint = Path(checkpoint)
    ckpt = load_checkpoint(checkpoint)
    cfg = config_from_dict(ckpt["config"])
    if dataset or data:
        cfg.dataset = dataset or cfg.dataset
        cfg.data = data or cfg.data
        splits_file = None
    else:
        splits_file = checkpoint.parent / "splits.json"
    space = LabelSpace.from_dict(ckpt["labels"])
    run = load_run_data(cfg, space=space, splits_file=splits_file)
    metrics: dict[str, Any] = {}
    val = (run_checkpoint(ckpt, run.samples("val"), space, device=device, workers=workers)
           if run.samples("val") else None)
    if val is None:
        print("warning: no validation split: thresholds stay at 0.5", file=sys.stderr)
        thresholds = {h: np.full(len(n), 0.5) for h, n in space.heads.items()}
    else:
        thresholds = choose_thresholds(val, space)
        metrics["val"] = summarize(val, space, thresholds)
    if run.samples("test"):
        test = run_checkpoint(ckpt, run.samples("test"), space, device=device, workers=workers)
        metrics["test"] = summarize(test, space, thresholds)
    metrics.update(extra_metrics or {})
    model = model_from_checkpoint(ckpt)
    pack_name = name or _NAME_OK.sub("-", Path(out).name).strip("-.") or "pack"
    provenance = {
        "trained_by": "animesion-train",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "code_revision": code_revision(),
        "code_modified": code_modified(),
        "torch": torch.__version__,
        "checkpoint": {"file": checkpoint.name, "sha256": file_sha256(checkpoint),
                       "epoch": ckpt.get("epoch"), "step": ckpt.get("step")},
        "data": {"kind": run.ds.kind, "fingerprint": run.fingerprint,
                 "splits": {"source": run.plan.source, **run.plan.counts()},
                 "trained_on": ckpt.get("data", {}).get("fingerprint")},
        "thresholds": "max F1 on the validation split" if val is not None else "0.5 (no val)",
        "training_config": portable_config(ckpt["config"]),
        "recipe": recipe_summary(ckpt["config"]),
    }
    return write_pack(
        out, name=pack_name, version=version, backend="torch", heads=build_heads(space, thresholds),
        input_spec=input_spec(cfg), model=model, metrics=metrics, provenance=provenance,
    )
