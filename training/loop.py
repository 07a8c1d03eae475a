"""`animesion-train train`: the training loop.

One process, or one per rank under torchrun (DistributedDataParallel). Rank 0 alone reads
nothing more than the others but writes everything: splits, logs, curves and checkpoints.
Validation runs on rank 0 with the unwrapped model while the other ranks wait at a barrier.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from models.device import DeviceError, cpu_supports_bf16, select_device
from training import distributed as ddp
from training.checkpoint import clean_state_dict, load_checkpoint, save_checkpoint
from training.config import TrainConfig, save_config
from training.data.dataset import ImageFileDataset
from training.data.labels import LabelSpace, TargetEncoder
from training.data.loader import default_workers, make_loader
from training.data.samples import HEAD_KINDS
from training.data.transforms import Normalizer, TransformOptions, eval_transform, train_transform
from training.errors import TrainingError
from training.losses import (
    MultiHeadLoss,
    class_balanced_weights,
    class_counts,
    exclusion_loss,
    tag_counts,
)
from training.metrics import head_summary
from training.modeling import TrainForward, check_exclusion, new_model, transfer_weights
from training.outputs import autocast_context, collect_outputs
from training.plots import plot_curves
from training.rundata import RunData, load_run_data, write_run_data
from training.runlog import RunLog
from training.schedule import lr_factor, resolve_warmup


@dataclass
class TrainResult:
    out: Path
    best_path: Path
    last_path: Path
    best_score: float
    best_epoch: int
    epochs_run: int
    steps: int
    elapsed_seconds: float
    stopped_by: str  # "epochs", "max_steps" or "max_minutes"


def transform_options(cfg: TrainConfig) -> TransformOptions:
    return TransformOptions(
        image_size=cfg.image_size, resize_margin=cfg.resize_margin, hflip=cfg.hflip,
        color_jitter=cfg.color_jitter,
    )


def score_of(metrics: dict[str, Any], val_loss: float) -> float:
    """What "best" means: character top-1, else tag mAP, else the lowest validation loss."""
    if "character" in metrics:
        return float(metrics["character"]["top1"])
    if "general" in metrics:
        return float(metrics["general"]["mAP"])
    return -val_loss if math.isfinite(val_loss) else -math.inf


def _loss_for(cfg: TrainConfig, run: RunData, train_targets: dict[str, torch.Tensor]) -> MultiHeadLoss:
    kinds = {h: HEAD_KINDS[h] for h in run.space.heads}
    weights = {}
    if cfg.class_balanced is not None:
        for head, kind in kinds.items():
            counts = (tag_counts(train_targets[head]) if kind == "sigmoid"
                      else class_counts(train_targets[head], len(run.space.heads[head])))
            weights[head] = class_balanced_weights(counts, cfg.class_balanced)
    return MultiHeadLoss(kinds, label_smoothing=cfg.label_smoothing, class_weights=weights)


def _stack_targets(encoder: TargetEncoder, samples: list) -> dict[str, torch.Tensor]:
    encoded = [encoder(s) for s in samples]
    return {h: torch.stack([e[h] for e in encoded]) for h in encoder.space.heads}


class _Say:
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(message, file=sys.stderr, flush=True)


def _absolute(cfg: TrainConfig) -> TrainConfig:
    """Paths in checkpoints must not depend on the directory evaluate is run from."""
    for name in ("data", "out", "pretrained", "transfer", "resume"):
        value = getattr(cfg, name)
        if value:
            setattr(cfg, name, str(Path(value).expanduser().resolve()))
    return cfg


def train(cfg: TrainConfig) -> TrainResult:
    cfg = _absolute(cfg.validate())
    start = time.monotonic()
    try:
        choice = select_device(cfg.device)
    except DeviceError as exc:
        raise TrainingError(str(exc)) from None
    device = choice.torch_device
    info = ddp.init_distributed(device.type)
    try:
        return _train(cfg, info, device, choice.description, list(choice.warnings), start)
    finally:
        ddp.cleanup(info)


def _train(
    cfg: TrainConfig, info: ddp.DistInfo, device: torch.device, device_text: str,
    warnings: list[str], start: float,
) -> TrainResult:
    say = _Say(info.is_main)
    if device.type == "cuda" and info.enabled:
        device = torch.device(f"cuda:{info.local_rank}")
        torch.cuda.set_device(device)
    if device.type == "cpu" and info.enabled:
        # Several ranks on one machine share its cores; without this each would start one
        # thread per core and they would all thrash.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // info.world_size))
    for w in warnings:
        say(f"warning: {w}")
    if cfg.amp and device.type == "cpu" and not cpu_supports_bf16():
        say("warning: --amp on a CPU without native bfloat16 is emulated and slower than fp32")

    out = Path(cfg.out)
    resume = load_checkpoint(cfg.resume) if cfg.resume else None
    space = LabelSpace.from_dict(resume["labels"]) if resume else None
    splits_file = (Path(cfg.resume).parent / "splits.json") if cfg.resume else out / "splits.json"
    if not cfg.resume and info.is_main:
        splits_file.unlink(missing_ok=True)  # a new run splits afresh; resume keeps its split
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        run = load_run_data(cfg, space=space, splits_file=splits_file if cfg.resume else None)
        write_run_data(run, out)
        save_config(cfg, out / "config.yaml")
    ddp.barrier(info)
    if not info.is_main:
        # The other ranks read the split rank 0 decided (and generated data it wrote).
        run = load_run_data(cfg, space=space, splits_file=out / "splits.json", quiet=True)
    train_samples, val_samples = run.samples("train"), run.samples("val")
    if not train_samples:
        raise TrainingError("the training split is empty")
    say(f"data: {run.ds.kind} at {run.ds.root}: {len(run.ds.samples)} images, splits "
        f"{run.plan.counts()} ({run.plan.source}); heads {run.space.sizes()}")
    say(f"device: {device_text}" + (f", {info.world_size} ranks" if info.enabled else ""))

    torch.manual_seed(cfg.seed)
    model = new_model(cfg, run.space)
    check_exclusion(cfg, model)
    if cfg.transfer:
        loaded, skipped = transfer_weights(model, cfg.transfer)
        say(f"transfer: {loaded} tensors from {cfg.transfer}; fresh: {len(skipped)} "
            f"({', '.join(skipped[:4])}{' ...' if len(skipped) > 4 else ''})")
    if resume:
        if dict(resume["model_config"]).get("name") != cfg.model:
            raise TrainingError(f"{cfg.resume}: was trained as {resume['model_config'].get('name')}, "
                                f"not {cfg.model}")
        model.load_state_dict(clean_state_dict(resume["state_dict"]), strict=True)
    model.to(device)

    encoder = TargetEncoder(run.space)
    opts = transform_options(cfg)
    train_set = ImageFileDataset(train_samples, encoder, train_transform(opts), opts.decode_size(True))
    val_set = ImageFileDataset(val_samples, encoder, eval_transform(opts), opts.decode_size(False))
    workers = cfg.workers if cfg.workers is not None else default_workers() // info.world_size
    train_loader = make_loader(train_set, batch_size=cfg.batch_size, train=True, workers=workers,
                               seed=cfg.seed, distributed=info.enabled, device_type=device.type)
    val_loader = make_loader(val_set, batch_size=cfg.batch_size, train=False, workers=workers,
                             seed=cfg.seed, device_type=device.type) if val_samples else None
    # Class counts only when the class-balanced loss needs them (encoding 500k samples costs).
    counted_targets = _stack_targets(encoder, train_samples) if cfg.class_balanced else {}
    loss_fn = _loss_for(cfg, run, counted_targets).to(device)
    val_batches = len(val_loader) if val_loader is not None else 0
    normalizer = Normalizer(opts.mean, opts.std).to(device)

    forward: nn.Module = TrainForward(model, with_intermediates=cfg.exclusion_loss)
    if info.enabled:
        forward = DistributedDataParallel(
            forward, device_ids=[device.index] if device.type == "cuda" else None
        )
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp and device.type == "cuda")

    steps_per_epoch = max(1, len(train_loader) // cfg.grad_accum)
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    warmup = resolve_warmup(cfg.warmup_steps, total_steps)
    horizon = total_steps  # shortened when the time budget will not reach the end

    start_epoch, step, best_score, best_epoch = 0, 0, -math.inf, 0
    best_loss = math.inf
    elapsed_before = 0.0
    if resume:
        optimizer.load_state_dict(resume["optimizer"])
        if resume.get("scaler"):
            scaler.load_state_dict(resume["scaler"])
        start_epoch, step = int(resume["epoch"]), int(resume["step"])
        best_score = float(resume.get("best_score", -math.inf))
        best_epoch = int(resume.get("best_epoch", 0))
        best_loss = float(resume.get("best_loss", math.inf))
        elapsed_before = float(resume.get("elapsed_seconds", 0.0))
        say(f"resume: from epoch {start_epoch}, step {step}")

    log = RunLog(out, append=bool(resume)) if info.is_main else None
    best_path, last_path = out / "best.pt", out / "last.pt"
    budget = cfg.max_minutes * 60.0 if cfg.max_minutes else None
    val_seconds = 0.0
    stopped_by = "epochs"
    epochs_run = 0
    train_start = time.monotonic()
    steps_at_start = step
    last_plot = train_start

    def payload(epoch: int, metrics: dict[str, Any]) -> dict[str, Any]:
        return {
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict() if scaler.is_enabled() else None,
            "epoch": epoch,
            "step": step,
            "elapsed_seconds": elapsed_before + time.monotonic() - start,
            "config": cfg.to_dict(),
            "model_config": model.config.to_dict(),
            "labels": run.space.to_dict(),
            "classes": list(run.space.heads.get("character", [])),
            "tags": list(run.space.heads.get("general", [])),
            "metrics": metrics,
            "best_score": best_score,
            "best_epoch": best_epoch,
            "best_loss": best_loss,
            "data": {"kind": run.ds.kind, "path": str(run.ds.root),
                     "fingerprint": run.fingerprint, "splits": "splits.json"},
        }

    for epoch in range(start_epoch, cfg.epochs):
        if step >= total_steps:
            break
        epochs_run += 1
        if info.enabled:
            train_loader.sampler.set_epoch(epoch)  # type: ignore[union-attr]
        forward.train()
        loss_sum = correct = counted = 0.0
        batches = 0
        epoch_start = time.monotonic()
        stop = False
        optimizer.zero_grad(set_to_none=True)
        n_batches = len(train_loader)
        for i, (images, targets) in enumerate(train_loader):
            x = normalizer(images.to(device, non_blocking=True))
            t = {k: v.to(device, non_blocking=True) for k, v in targets.items()}
            boundary = (i + 1) % cfg.grad_accum == 0 or i + 1 == n_batches
            sync = (forward.no_sync() if info.enabled and not boundary  # type: ignore[operator]
                    else contextlib.nullcontext())
            with sync:
                with autocast_context(device, cfg.amp):
                    logits, inter = forward(x)
                loss, _ = loss_fn(logits, t)
                if cfg.exclusion_loss:
                    exc = exclusion_loss(inter, cfg.exclusion_distance, cfg.exclusion_temperature)
                    loss = loss - cfg.exclusion_weight * cfg.exclusion_temperature**2 * exc
                scaler.scale(loss / cfg.grad_accum).backward()
            loss_sum += float(loss.detach())
            batches += 1
            if "character" in logits:
                valid = t["character"] != -100
                correct += float((logits["character"].argmax(1) == t["character"])[valid].sum())
                counted += float(valid.sum())
            if not boundary:
                continue
            factor = lr_factor(cfg.scheduler, step, total_steps=horizon, warmup_steps=warmup,
                               steps_per_epoch=steps_per_epoch, epoch_decay=cfg.epoch_decay)
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * factor
            if cfg.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if cfg.log_every and step % cfg.log_every == 0:
                rate = (step - steps_at_start) / max(1e-9, time.monotonic() - train_start)
                say(f"epoch {epoch + 1}/{cfg.epochs} step {step}/{total_steps} "
                    f"loss {loss_sum / batches:.4f} lr {cfg.lr * factor:.2e} "
                    f"{rate * cfg.batch_size * cfg.grad_accum * info.world_size:.1f} img/s")
            if step >= total_steps:
                stopped_by = "max_steps" if cfg.max_steps and step >= cfg.max_steps else stopped_by
                break
            if budget is not None:
                used = time.monotonic() - start
                per_step = (time.monotonic() - train_start) / max(1, step - steps_at_start)
                # Keep time for the validation that follows (before the first one, guess it
                # from the training speed: a forward pass is about a third of a step).
                val_reserve = val_seconds * 1.2 if val_seconds else val_batches * per_step * 0.5
                out_of_time = used + per_step + val_reserve + 5.0 > budget
                if ddp.any_rank(info, out_of_time, device):
                    stop, stopped_by = True, "max_minutes"
                    break
                if step - steps_at_start == 10 and cfg.scheduler == "warmup_cosine":
                    # Let the cosine reach its end when the budget does, not epochs later.
                    fits = step + int((budget - used) / per_step * 0.9)
                    horizon = ddp.min_over_ranks(info, min(total_steps, fits), device)
        train_loss = ddp.mean_over_ranks(info, loss_sum / max(1, batches), device)
        train_top1 = ddp.mean_over_ranks(info, correct / counted if counted else float("nan"), device)

        if budget is not None and cfg.scheduler == "warmup_cosine" and not stop:
            # Re-aim the cosine with this epoch's speed, validation included.
            per_step = (time.monotonic() - epoch_start + val_seconds) / steps_per_epoch
            fits = step + int((budget - (time.monotonic() - start)) / per_step * 0.95)
            horizon = ddp.min_over_ranks(info, max(step + 1, min(total_steps, fits)), device)

        # Validation and checkpoints on rank 0 only.
        val_start = time.monotonic()
        record: dict[str, Any] = {}
        if info.is_main:
            metrics: dict[str, Any] = {}
            val_loss = float("nan")
            if val_loader is not None:
                outputs = collect_outputs(model, val_loader, device=device, normalizer=normalizer,
                                          loss_fn=loss_fn, amp=cfg.amp)
                val_loss = outputs.loss
                for head, probs in outputs.probs.items():
                    metrics[head] = head_summary(HEAD_KINDS[head], probs, outputs.targets[head])
            score = score_of(metrics, val_loss) if metrics else -train_loss
            # Equal scores (top-1 saturates on easy data): the lower validation loss wins.
            improved = score > best_score or (
                score == best_score and math.isfinite(val_loss) and val_loss < best_loss)
            if improved:
                best_score, best_epoch = score, epoch + 1
                best_loss = val_loss if math.isfinite(val_loss) else best_loss
            record = {
                "epoch": epoch + 1, "step": step,
                "elapsed_seconds": round(elapsed_before + time.monotonic() - start, 2),
                "lr": optimizer.param_groups[0]["lr"], "train_loss": train_loss,
                "train_top1": train_top1, "val_loss": val_loss, "val": metrics,
                "images_per_second": round(
                    (step - steps_at_start) * cfg.batch_size * cfg.grad_accum * info.world_size
                    / max(1e-9, time.monotonic() - train_start), 2),
            }
            assert log is not None
            log.write(record)
            ckpt = payload(epoch + 1, metrics)
            save_checkpoint(last_path, ckpt)
            if improved:
                save_checkpoint(best_path, ckpt)
            if time.monotonic() - last_plot > 60:  # matplotlib costs ~1 s: not every epoch
                plot_curves(log.records(), out / "curves.png")
                last_plot = time.monotonic()
            shown = ", ".join(
                f"{h} " + " ".join(f"{k} {v:.3f}" for k, v in m.items() if k in ("top1", "mAP"))
                for h, m in metrics.items())
            say(f"epoch {epoch + 1}: train loss {train_loss:.4f}, val loss {val_loss:.4f}"
                f"{', ' + shown if shown else ''}{' (best)' if improved else ''}")
        ddp.barrier(info)
        val_seconds = time.monotonic() - val_start
        if stop or step >= total_steps:
            break

    elapsed = elapsed_before + time.monotonic() - start
    if info.enabled:
        print(f"rank {info.rank}/{info.world_size} finished after {step} steps", file=sys.stderr,
              flush=True)
    if info.is_main:
        assert log is not None
        plot_curves(log.records(), out / "curves.png")
        summary = {
            "best_epoch": best_epoch, "best_score": best_score, "epochs_run": epochs_run,
            "steps": step, "elapsed_seconds": round(elapsed, 2), "stopped_by": stopped_by,
            "best": str(best_path), "last": str(last_path),
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        say(f"done: {stopped_by}; best epoch {best_epoch} (score {best_score:.4f}); "
            f"{elapsed / 60:.1f} min; {best_path}")
    return TrainResult(out, best_path, last_path, best_score, best_epoch, epochs_run, step,
                       elapsed, stopped_by)

