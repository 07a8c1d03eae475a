"""The Trainer: everything one training run holds, and its three moves (an epoch of steps,
a validation with checkpoints, the final summary).

Under torchrun every rank builds the same Trainer; rank 0 alone writes files. Validation
runs on rank 0 with the unwrapped model while the other ranks wait at a barrier (the
validation split is small next to training, and this keeps the metrics exact).
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
from torch.utils.data.distributed import DistributedSampler

from training import distributed as ddp
from training.budget import TimeBudget
from training.checkpoint import clean_state_dict, save_checkpoint
from training.config import TrainConfig, save_config
from training.data.dataset import ImageFileDataset
from training.data.labels import IGNORE_INDEX, LabelSpace, TargetEncoder
from training.data.loader import default_workers, make_loader
from training.data.samples import HEAD_KINDS, Sample
from training.data.transforms import (
    BatchColorJitter,
    Normalizer,
    TransformOptions,
    eval_transform,
    train_transform,
)
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


@dataclass
class EpochStats:
    loss: float
    top1: float
    seconds: float
    stopped_by: str | None  # set when the epoch ended the run early


def score_of(metrics: dict[str, Any], val_loss: float) -> float:
    """What "best" means: character top-1, else tag mAP, else the lowest validation loss."""
    if "character" in metrics:
        return float(metrics["character"]["top1"])
    if "general" in metrics:
        return float(metrics["general"]["mAP"])
    return -val_loss if math.isfinite(val_loss) else -math.inf


def build_loss(cfg: TrainConfig, space: LabelSpace, encoder: TargetEncoder,
               train_samples: list[Sample]) -> MultiHeadLoss:
    kinds = {h: HEAD_KINDS[h] for h in space.heads}
    weights = {}
    if cfg.class_balanced is not None:
        # Counting needs every training target encoded: only done when asked for.
        encoded = [encoder(s) for s in train_samples]
        for head, kind in kinds.items():
            targets = torch.stack([e[head] for e in encoded])
            counts = (tag_counts(targets) if kind == "sigmoid"
                      else class_counts(targets, len(space.heads[head])))
            weights[head] = class_balanced_weights(counts, cfg.class_balanced)
    return MultiHeadLoss(kinds, label_smoothing=cfg.label_smoothing, class_weights=weights)


def build_optimizer(cfg: TrainConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


class Trainer:
    def __init__(self, cfg: TrainConfig, info: ddp.DistInfo, device: torch.device,
                 budget: TimeBudget, resume: dict[str, Any] | None = None):
        self.cfg, self.info, self.device, self.budget = cfg, info, device, budget
        self.out = Path(cfg.out)
        self.start = budget.start
        if device.type == "cpu" and info.enabled:
            # Several ranks on one machine share its cores; without this each would start one
            # thread per core and they would all thrash.
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // info.world_size))
        self.run = self._read_data(resume)
        self._build_model(resume)
        self._build_loaders()
        self._build_optimisation(resume)
        self.log = RunLog(self.out, append=resume is not None) if info.is_main else None
        self.best_path, self.last_path = self.out / "best.pt", self.out / "last.pt"
        self.val_seconds = 0.0
        self.last_plot = time.monotonic()

    # -- setup ----------------------------------------------------------------------------

    def say(self, message: str) -> None:
        if self.info.is_main:
            print(message, file=sys.stderr, flush=True)

    def _read_data(self, resume: dict[str, Any] | None) -> RunData:
        cfg, info = self.cfg, self.info
        space = LabelSpace.from_dict(resume["labels"]) if resume else None
        recorded = Path(cfg.resume).parent / "splits.json" if cfg.resume else None
        if info.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            run = load_run_data(cfg, space=space, splits_file=recorded)
            write_run_data(run, self.out)
            save_config(cfg, self.out / "config.yaml")
        ddp.barrier(info)
        if not info.is_main:
            # The other ranks use the split rank 0 wrote (and the data it generated).
            run = load_run_data(cfg, space=space, splits_file=self.out / "splits.json",
                                quiet=True)
        if not run.samples("train"):
            raise TrainingError("the training split is empty")
        self.say(f"data: {run.ds.kind} at {run.ds.root}: {len(run.ds.samples)} images, splits "
                 f"{run.plan.counts()} ({run.plan.source}); heads {run.space.sizes()}")
        return run

    def _build_model(self, resume: dict[str, Any] | None) -> None:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        model = new_model(cfg, self.run.space)
        check_exclusion(cfg, model)
        if cfg.transfer:
            loaded, skipped = transfer_weights(model, cfg.transfer)
            shown = ", ".join(skipped[:4]) + (" ..." if len(skipped) > 4 else "")
            self.say(f"transfer: {loaded} tensors from {cfg.transfer}; fresh: {len(skipped)} "
                     f"({shown})")
        if resume:
            trained_as = dict(resume["model_config"]).get("name")
            if trained_as != cfg.model:
                raise TrainingError(f"{cfg.resume}: was trained as {trained_as}, not {cfg.model}")
            model.load_state_dict(clean_state_dict(resume["state_dict"]), strict=True)
        self.model = model.to(self.device)
        forward: nn.Module = TrainForward(self.model, with_intermediates=cfg.exclusion_loss)
        if self.info.enabled:
            forward = DistributedDataParallel(
                forward, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.forward = forward

    def _build_loaders(self) -> None:
        cfg, info, run = self.cfg, self.info, self.run
        self.encoder = TargetEncoder(run.space)
        opts = TransformOptions.from_config(cfg)
        train_samples, val_samples = run.samples("train"), run.samples("val")
        workers = cfg.workers if cfg.workers is not None else default_workers() // info.world_size
        train_set = ImageFileDataset(train_samples, self.encoder, train_transform(opts),
                                     opts.decode_size(True))
        self.train_loader = make_loader(train_set, batch_size=cfg.batch_size, train=True,
                                        workers=workers, seed=cfg.seed, distributed=info.enabled,
                                        device_type=self.device.type)
        self.val_loader = None
        if val_samples:
            val_set = ImageFileDataset(val_samples, self.encoder, eval_transform(opts),
                                       opts.decode_size(False))
            self.val_loader = make_loader(val_set, batch_size=cfg.batch_size, train=False,
                                          workers=workers, seed=cfg.seed,
                                          device_type=self.device.type)
        self.normalizer = Normalizer(opts.mean, opts.std).to(self.device)
        self.jitter = BatchColorJitter(opts.color_jitter).to(self.device)
        self.loss_fn = build_loss(cfg, run.space, self.encoder, train_samples).to(self.device)

    def _build_optimisation(self, resume: dict[str, Any] | None) -> None:
        cfg = self.cfg
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(cfg, self.params)
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp and self.device.type == "cuda")
        self.steps_per_epoch = max(1, len(self.train_loader) // cfg.grad_accum)
        total = self.steps_per_epoch * cfg.epochs
        self.total_steps = min(total, cfg.max_steps) if cfg.max_steps else total
        self.warmup = resolve_warmup(cfg.warmup_steps, self.total_steps)
        if self.budget.enabled and cfg.warmup_steps is None:
            # Until the budget's reach is known (re-aimed at step 10), warm up over 10 steps:
            # 5 % of epochs the budget never reaches would keep the first steps at lr ~ 0.
            self.warmup = min(self.warmup, 10)
        self.horizon = self.total_steps  # shortened when the time budget will not reach the end
        self.epoch, self.step = 0, 0
        self.best_score, self.best_epoch, self.best_loss = -math.inf, 0, math.inf
        self.elapsed_before = 0.0
        if resume:
            self.optimizer.load_state_dict(resume["optimizer"])
            if resume.get("scaler"):
                self.scaler.load_state_dict(resume["scaler"])
            self.epoch, self.step = int(resume["epoch"]), int(resume["step"])
            self.best_score = float(resume.get("best_score", -math.inf))
            self.best_epoch = int(resume.get("best_epoch", 0))
            self.best_loss = float(resume.get("best_loss", math.inf))
            self.elapsed_before = float(resume.get("elapsed_seconds", 0.0))
            self.say(f"resume: from epoch {self.epoch}, step {self.step}")
        self.first_step = self.step
        self.train_start = time.monotonic()

    # -- the run --------------------------------------------------------------------------

    def fit(self) -> TrainResult:
        cfg = self.cfg
        stopped_by, epochs_run = "epochs", 0
        while self.epoch < cfg.epochs and self.step < self.total_steps:
            epochs_run += 1
            stats = self.train_epoch()
            self.validate_and_save(stats)
            self.epoch += 1
            if stats.stopped_by:
                stopped_by = stats.stopped_by
                break
        return self.finish(stopped_by, epochs_run)

    def _lr(self) -> float:
        cfg = self.cfg
        factor = lr_factor(cfg.scheduler, self.step, total_steps=self.horizon,
                           warmup_steps=self.warmup, steps_per_epoch=self.steps_per_epoch,
                           epoch_decay=cfg.epoch_decay)
        return cfg.lr * factor

    def _seconds_per_step(self) -> float:
        return (time.monotonic() - self.train_start) / max(1, self.step - self.first_step)

    def _images_per_second(self) -> float:
        cfg = self.cfg
        images = (self.step - self.first_step) * cfg.batch_size * cfg.grad_accum
        return images * self.info.world_size / max(1e-9, time.monotonic() - self.train_start)

    def train_epoch(self) -> EpochStats:
        cfg, info, device = self.cfg, self.info, self.device
        if info.enabled:
            sampler = self.train_loader.sampler
            assert isinstance(sampler, DistributedSampler)  # make_loader(distributed=True)
            sampler.set_epoch(self.epoch)
        self.forward.train()
        loss_sum = correct = counted = 0.0
        batches = 0
        started = time.monotonic()
        stopped_by: str | None = None
        n_batches = len(self.train_loader)
        self.optimizer.zero_grad(set_to_none=True)
        for i, (images, targets) in enumerate(self.train_loader):
            x = self.normalizer(self.jitter(images.to(device, non_blocking=True)))
            t = {k: v.to(device, non_blocking=True) for k, v in targets.items()}
            boundary = (i + 1) % cfg.grad_accum == 0 or i + 1 == n_batches
            # Between accumulation boundaries DDP need not all-reduce gradients.
            sync = (self.forward.no_sync() if info.enabled and not boundary  # type: ignore[operator]
                    else contextlib.nullcontext())
            with sync:
                with autocast_context(device, cfg.amp):
                    logits, inter = self.forward(x)
                loss, _ = self.loss_fn(logits, t)
                if cfg.exclusion_loss:
                    exc = exclusion_loss(inter, cfg.exclusion_distance, cfg.exclusion_temperature)
                    loss = loss - cfg.exclusion_weight * cfg.exclusion_temperature**2 * exc
                self.scaler.scale(loss / cfg.grad_accum).backward()
            loss_sum += float(loss.detach())
            batches += 1
            if "character" in logits:
                valid = t["character"] != IGNORE_INDEX
                correct += float((logits["character"].argmax(1) == t["character"])[valid].sum())
                counted += float(valid.sum())
            if not boundary:
                continue
            self.optimizer_step()
            if cfg.log_every and self.step % cfg.log_every == 0:
                self.say(f"epoch {self.epoch + 1}/{cfg.epochs} step {self.step}/{self.total_steps}"
                         f" loss {loss_sum / batches:.4f} lr {self._lr():.2e} "
                         f"{self._images_per_second():.1f} img/s")
            if self.step >= self.total_steps:
                stopped_by = "max_steps" if cfg.max_steps and self.step >= cfg.max_steps else None
                break
            if self.budget.enabled and self._check_budget():
                stopped_by = "max_minutes"
                break
        if self.budget.enabled and cfg.scheduler == "warmup_cosine" and stopped_by is None:
            # Re-aim the cosine with this epoch's speed, validation included.
            per_step = (time.monotonic() - started + self.val_seconds) / self.steps_per_epoch
            fits = self.budget.steps_that_fit(self.step, per_step, 0.95)
            self.horizon = ddp.min_over_ranks(
                info, max(self.step + 1, min(self.total_steps, fits)), device)
        return EpochStats(
            loss=ddp.mean_over_ranks(info, loss_sum / max(1, batches), device),
            top1=ddp.mean_over_ranks(info, correct / counted if counted else math.nan, device),
            seconds=time.monotonic() - started,
            stopped_by=stopped_by,
        )

    def optimizer_step(self) -> None:
        lr = self._lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.cfg.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1

    def _check_budget(self) -> bool:
        """Stop now? Every rank must agree, or the others would wait forever at a collective."""
        per_step = self._seconds_per_step()
        # Keep time for the validation that follows; before the first one, guess it from the
        # training speed (a forward pass costs about a third of a training step).
        val_batches = len(self.val_loader) if self.val_loader is not None else 0
        reserve = self.val_seconds * 1.2 if self.val_seconds else val_batches * per_step * 0.5
        if ddp.any_rank(self.info, self.budget.out_of_time(per_step, reserve), self.device):
            return True
        if self.step - self.first_step == 10 and self.cfg.scheduler == "warmup_cosine":
            # Let the cosine reach its end when the budget does, not epochs later.
            fits = self.budget.steps_that_fit(self.step, per_step, 0.9)
            self.horizon = ddp.min_over_ranks(self.info, min(self.total_steps, fits), self.device)
            if self.cfg.warmup_steps is None:
                # 5 % of the steps the budget allows, not of the epochs it will never reach.
                self.warmup = max(self.step, resolve_warmup(None, self.horizon))
        return False

    def validate_and_save(self, stats: EpochStats) -> None:
        started = time.monotonic()
        if self.info.is_main:
            metrics: dict[str, Any] = {}
            val_loss = math.nan
            if self.val_loader is not None:
                outputs = collect_outputs(self.model, self.val_loader, device=self.device,
                                          normalizer=self.normalizer, loss_fn=self.loss_fn,
                                          amp=self.cfg.amp)
                val_loss = outputs.loss
                for head, probs in outputs.probs.items():
                    metrics[head] = head_summary(HEAD_KINDS[head], probs, outputs.targets[head])
            self._record(stats, metrics, val_loss)
        ddp.barrier(self.info)
        self.val_seconds = time.monotonic() - started

    def _record(self, stats: EpochStats, metrics: dict[str, Any], val_loss: float) -> None:
        score = score_of(metrics, val_loss) if metrics else -stats.loss
        # Equal scores (top-1 saturates on easy data): the lower validation loss wins.
        improved = score > self.best_score or (
            score == self.best_score and math.isfinite(val_loss) and val_loss < self.best_loss)
        if improved:
            self.best_score, self.best_epoch = score, self.epoch + 1
            self.best_loss = val_loss if math.isfinite(val_loss) else self.best_loss
        assert self.log is not None
        self.log.write({
            "epoch": self.epoch + 1, "step": self.step,
            "elapsed_seconds": round(self.elapsed(), 2),
            "lr": self.optimizer.param_groups[0]["lr"], "train_loss": stats.loss,
            "train_top1": stats.top1, "val_loss": val_loss, "val": metrics,
            "images_per_second": round(self._images_per_second(), 2),
        })
        checkpoint = self.checkpoint(metrics)
        save_checkpoint(self.last_path, checkpoint)
        if improved:
            save_checkpoint(self.best_path, checkpoint)
        if time.monotonic() - self.last_plot > 60:  # matplotlib costs ~1 s: not every epoch
            plot_curves(self.log.records(), self.out / "curves.png")
            self.last_plot = time.monotonic()
        shown = ", ".join(
            f"{h} " + " ".join(f"{k} {v:.3f}" for k, v in m.items() if k in ("top1", "mAP"))
            for h, m in metrics.items())
        self.say(f"epoch {self.epoch + 1}: train loss {stats.loss:.4f}, val loss {val_loss:.4f}"
                 f"{', ' + shown if shown else ''}{' (best)' if improved else ''}")

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.start

    def checkpoint(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """The plain dict saved as best.pt / last.pt (see training.checkpoint)."""
        run = self.run
        return {
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "epoch": self.epoch + 1,
            "step": self.step,
            "elapsed_seconds": self.elapsed(),
            "config": self.cfg.to_dict(),
            "model_config": self.model.config.to_dict(),
            "labels": run.space.to_dict(),
            "classes": list(run.space.heads.get("character", [])),
            "tags": list(run.space.heads.get("general", [])),
            "metrics": metrics,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "best_loss": self.best_loss,
            "data": {"kind": run.ds.kind, "path": str(run.ds.root),
                     "fingerprint": run.fingerprint, "splits": "splits.json"},
        }

    def finish(self, stopped_by: str, epochs_run: int) -> TrainResult:
        elapsed = self.elapsed()
        if self.info.enabled:
            print(f"rank {self.info.rank}/{self.info.world_size} finished after {self.step} "
                  "steps", file=sys.stderr, flush=True)
        if self.info.is_main:
            assert self.log is not None
            plot_curves(self.log.records(), self.out / "curves.png")
            summary = {
                "best_epoch": self.best_epoch, "best_score": self.best_score,
                "epochs_run": epochs_run, "steps": self.step,
                "elapsed_seconds": round(elapsed, 2), "stopped_by": stopped_by,
                "best": str(self.best_path), "last": str(self.last_path),
            }
            (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n",
                                                   encoding="utf-8")
            self.say(f"done: {stopped_by}; best epoch {self.best_epoch} "
                     f"(score {self.best_score:.4f}); {elapsed / 60:.1f} min; {self.best_path}")
        return TrainResult(self.out, self.best_path, self.last_path, self.best_score,
                           self.best_epoch, epochs_run, self.step, elapsed, stopped_by)
