"""Checkpoints: plain dicts of tensors and plain values, loadable with weights_only=True.

    {
      "format": "animesion-train-checkpoint", "format_version": 1,
      "state_dict": {...}, "optimizer": {...}, "scaler": {...} | None,
      "epoch": 3, "step": 1200, "elapsed_seconds": 812.5,
      "config": TrainConfig as a dict, "model_config": ModelConfig as a dict,
      "labels": {"character": [...], "general": [...], ...},
      "classes": [...character names...], "tags": [...general tag names...],
      "metrics": {...validation metrics of this epoch...}, "best_score": 0.93,
      "data": {"kind": ..., "path": ..., "fingerprint": ..., "splits": "splits.json"},
    }

No argparse Namespace, no vocabulary class, no `_orig_mod.`/`module.` prefixes: nothing that
needs unpickling of project classes, so an old checkpoint survives refactoring.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from training.errors import TrainingError

CHECKPOINT_FORMAT = "animesion-train-checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a crash mid-save never leaves a truncated best.pt behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, **payload}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: checkpoint does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # weights_only refuses pickled objects: say so, do not fall back
        raise TrainingError(f"{path}: not a weights-only checkpoint ({exc})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise TrainingError(
            f"{path}: not an animesion-train checkpoint (for other weights use --transfer or "
            "--pretrained)"
        )
    for key in ("state_dict", "model_config", "labels", "config"):
        if key not in ckpt:
            raise TrainingError(f"{path}: checkpoint has no {key!r}")
    return ckpt


def clean_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip wrapper prefixes (DDP's `module.`, torch.compile's `_orig_mod.`)."""
    out = {}
    for key, value in state.items():
        for prefix in ("module.", "_orig_mod."):
            while key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out
