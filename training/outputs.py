"""Running a torch model over a loader and keeping probabilities and targets per head."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from training.data.samples import HEAD_KINDS
from training.data.transforms import Normalizer


@dataclass
class Outputs:
    probs: dict[str, np.ndarray] = field(default_factory=dict)
    targets: dict[str, np.ndarray] = field(default_factory=dict)
    loss: float = float("nan")
    embeddings: np.ndarray | None = None


def probabilities(head: str, logits: torch.Tensor) -> torch.Tensor:
    logits = logits.float()
    return torch.sigmoid(logits) if HEAD_KINDS.get(head) == "sigmoid" else torch.softmax(logits, 1)


def autocast_context(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    if not enabled:
        return contextlib.nullcontext()
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype)


@torch.no_grad()
def collect_outputs(
    model: nn.Module,
    loader: DataLoader,
    *,
    device: torch.device,
    normalizer: Normalizer,
    loss_fn: nn.Module | None = None,
    amp: bool = False,
) -> Outputs:
    was_training = model.training
    model.eval()
    probs: dict[str, list[np.ndarray]] = {}
    targets: dict[str, list[np.ndarray]] = {}
    loss_sum, batches = 0.0, 0
    for images, batch_targets in loader:
        x = normalizer(images.to(device, non_blocking=True))
        with autocast_context(device, amp):
            logits = model(x)
        if loss_fn is not None:
            t = {k: v.to(device) for k, v in batch_targets.items()}
            loss, _ = loss_fn(logits, t)
            loss_sum += float(loss)
            batches += 1
        for head, out in logits.items():
            probs.setdefault(head, []).append(probabilities(head, out).cpu().numpy())
            if head in batch_targets:
                targets.setdefault(head, []).append(batch_targets[head].numpy())
    model.train(was_training)
    return Outputs(
        probs={h: np.concatenate(v) for h, v in probs.items()},
        targets={h: np.concatenate(v) for h, v in targets.items()},
        loss=loss_sum / batches if batches else float("nan"),
    )
