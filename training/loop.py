"""`animesion-train train`: pick the device, join the process group under torchrun, run the
Trainer. One process, or one per rank (DistributedDataParallel, NCCL on CUDA, gloo on CPU).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from models.device import DeviceError, cpu_supports_bf16, select_device
from training import distributed as ddp
from training.budget import TimeBudget
from training.checkpoint import load_checkpoint
from training.config import TrainConfig
from training.errors import TrainingError
from training.trainer import Trainer, TrainResult

__all__ = ["TrainResult", "train"]


def _absolute(cfg: TrainConfig) -> TrainConfig:
    """Paths in checkpoints must not depend on the directory evaluate is run from."""
    for name in ("data", "out", "pretrained", "transfer", "resume"):
        value = getattr(cfg, name)
        if value and not (name == "pretrained" and value == "imagenet"):
            setattr(cfg, name, str(Path(value).expanduser().resolve()))
    return cfg


def train(cfg: TrainConfig, messages: Sequence[str] = ()) -> TrainResult:
    """Run one training; ``messages`` (the resolved recipe) are printed once the data and the
    model are ready, so a mistake in either is still the first line the user sees."""
    cfg = _absolute(cfg.validate())
    budget = TimeBudget(cfg.max_minutes, time.monotonic())
    try:
        choice = select_device(cfg.device)
    except DeviceError as exc:
        raise TrainingError(str(exc)) from None
    info = ddp.init_distributed(choice.torch_device.type)
    device = choice.torch_device
    try:
        if device.type == "cuda" and info.enabled:
            import torch

            device = torch.device(f"cuda:{info.local_rank}")  # one GPU per rank
            torch.cuda.set_device(device)
        if info.is_main:
            for warning in choice.warnings:
                print(f"warning: {warning}", file=sys.stderr, flush=True)
            if cfg.amp and device.type == "cpu" and not cpu_supports_bf16():
                print("warning: --amp on a CPU without native bfloat16 is emulated and slower "
                      "than fp32", file=sys.stderr, flush=True)
        if cfg.multimodal:
            return _train_multimodal(cfg, device, info, messages)
        resume = load_checkpoint(cfg.resume) if cfg.resume else None
        trainer = Trainer(cfg, info, device, budget, resume)
        for message in messages:
            trainer.say(message)
        trainer.say(f"device: {choice.description}"
                    + (f", {info.world_size} ranks" if info.enabled else ""))
        return trainer.fit()
    finally:
        ddp.cleanup(info)


def _train_multimodal(
    cfg: TrainConfig, device: object, info: ddp.DistInfo, messages: Sequence[str]
) -> TrainResult:
    from training.multimodal_train import train_multimodal

    if info.enabled:
        raise TrainingError("--multimodal runs in one process (not under torchrun)")
    for message in messages:
        print(message, file=sys.stderr, flush=True)
    started = time.monotonic()
    result = train_multimodal(cfg, device)  # type: ignore[arg-type]
    return TrainResult(
        out=result.out, best_path=result.pack, last_path=result.pack,
        best_score=float(result.metrics["top1_with_tags"]), best_epoch=0, epochs_run=0,
        steps=result.steps, elapsed_seconds=time.monotonic() - started, stopped_by="epochs",
    )
