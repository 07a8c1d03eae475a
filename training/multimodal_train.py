"""`animesion-train train --multimodal`: a ViLT model learning characters and tags together.

Loss = character cross-entropy + ``tag_loss_weight`` x cross-entropy of the masked tag slots
(:mod:`training.multimodal_masking` decides which). Tags come from the samples of the data set
(DAF:re ``{split}_tags.csv`` tags_cat0, our export format, the synthetic generator, whose
tags are the character's drawn attributes). One process; the run folder gets the resolved
config, the splits, a log, the multimodal metrics and a pack with the ``multimodal`` field.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from models.architectures.vilt import ViLT
from models.heads import default_activation
from models.labels import Label
from models.multimodal_spec import MODES, MultimodalSpec
from models.pack import write_pack
from models.registry import create_model
from models.spec import HeadSpec, InputSpec
from models.tag_tokenizer import TagTokenizer
from training.config import TrainConfig, save_config
from training.data.images import load_rgb
from training.data.samples import Sample
from training.data.transforms import (
    Normalizer,
    TransformOptions,
    eval_transform,
    train_transform,
)
from training.errors import TrainingError
from training.export import portable_config
from training.multimodal_masking import IGNORE, mask_ratio, mask_tags, shuffle_tags
from training.multimodal_metrics import evaluate_multimodal, format_report
from training.rundata import load_run_data, write_run_data
from training.schedule import lr_factor, resolve_warmup

PACK_DIR = "pack"


@dataclass
class MultimodalResult:
    out: Path
    pack: Path
    metrics: dict[str, Any]
    steps: int


class TaggedImages(Dataset):
    """(uint8 image [3, H, W], character id, tag list) per sample."""

    def __init__(
        self, samples: Sequence[Sample], classes: dict[str, int], transform: Any, size: int
    ):
        self.samples = [s for s in samples if s.character in classes]
        self.classes, self.transform, self.size = classes, transform, size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[Tensor, int, list[str]]:
        s = self.samples[i]
        assert s.character is not None
        return (
            self.transform(load_rgb(s.path, self.size)),
            self.classes[s.character],
            list(s.tags or ()),
        )


def _collate(items: list[tuple[Tensor, int, list[str]]]) -> tuple[Tensor, Tensor, list[list[str]]]:
    return (
        torch.stack([x for x, _, _ in items]),
        torch.tensor([c for _, c, _ in items]),
        [t for _, _, t in items],
    )


def build_tokenizer(samples: Sequence[Sample], min_count: int) -> TagTokenizer:
    counts = Counter(t for s in samples for t in (s.tags or ()))
    return TagTokenizer(sorted(t for t, n in counts.items() if n >= min_count))


def tag_loss(tag_logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy over the masked slots; 0 when none is masked (schedule none)."""
    if not (targets != IGNORE).any():
        return tag_logits.sum() * 0.0
    return nn.functional.cross_entropy(
        tag_logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE
    )


def _check(cfg: TrainConfig) -> None:
    if not cfg.model.startswith("vilt_"):
        raise TrainingError(f"--multimodal needs a vilt_* model (vilt_b16 ...), got {cfg.model}")
    if cfg.grad_accum != 1 or cfg.resume or cfg.exclusion_loss:
        raise TrainingError("--multimodal: grad_accum, resume and exclusion_loss are not supported")


def train_multimodal(
    cfg: TrainConfig,
    device: torch.device,
    *,
    model_overrides: dict[str, Any] | None = None,
    say: Any = None,
) -> MultimodalResult:
    """``model_overrides`` are further ModelConfig fields (tiny models in tests)."""
    _check(cfg)

    def log(message: str) -> None:
        (say or (lambda m: print(m, file=sys.stderr, flush=True)))(message)

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    run = load_run_data(cfg)
    write_run_data(run, out)
    save_config(cfg, out / "config.yaml")
    train_samples = run.samples("train")
    characters = run.space.to_dict().get("character")
    if not characters:
        raise TrainingError("--multimodal: the data set labels no characters")
    tokenizer = build_tokenizer(train_samples, cfg.min_tag_count)
    if len(tokenizer.tags) == 0:
        raise TrainingError("--multimodal: the training split carries no tags")
    log(
        f"multimodal: {len(characters)} characters, {len(tokenizer.tags)} tags, "
        f"{cfg.max_text_seq_len} tag slots, mask schedule {cfg.mask_schedule}"
    )

    torch.manual_seed(cfg.seed)
    model = create_model(
        cfg.model, heads={"character": len(characters)}, image_size=cfg.image_size, ifa=cfg.ifa,
        dropout=cfg.dropout, vocab_size=len(tokenizer), max_text_seq_len=cfg.max_text_seq_len,
        **(model_overrides or {}),
    )  # fmt: skip
    assert isinstance(model, ViLT)
    model.to(device)
    opts = TransformOptions.from_config(cfg)
    index = {c: i for i, c in enumerate(characters)}
    train_set = TaggedImages(train_samples, index, train_transform(opts), opts.decode_size(True))
    loader = DataLoader(
        train_set,
        batch_size=cfg.batch_size,
        shuffle=True,
        collate_fn=_collate,
        generator=torch.Generator().manual_seed(cfg.seed),
        drop_last=False,
    )
    normalizer = Normalizer(opts.mean, opts.std).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    else:
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(loader))
    total = steps_per_epoch * cfg.epochs
    total = min(total, cfg.max_steps) if cfg.max_steps else total
    warmup = resolve_warmup(cfg.warmup_steps, total)
    g = torch.Generator().manual_seed(cfg.seed + 1)
    step, started = 0, time.monotonic()
    while step < total:
        model.train()
        for images, chars, tags in loader:
            ids = tokenizer.encode_batch(tags, cfg.max_text_seq_len)
            if cfg.shuffle_tokens:
                ids = shuffle_tags(ids, g)
            ratio = mask_ratio(cfg.mask_schedule, step / max(1, total - 1))
            inputs, targets = mask_tags(ids, ratio, cfg.masking_behavior, len(tokenizer), g)
            x = normalizer(images.to(device))
            heads, tag_logits = model.forward_multimodal(x, inputs.to(device))
            loss_c = nn.functional.cross_entropy(
                heads["character"], chars.to(device), label_smoothing=cfg.label_smoothing
            )
            loss_t = tag_loss(tag_logits, targets.to(device))
            loss = loss_c + cfg.tag_loss_weight * loss_t
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * lr_factor(
                    cfg.scheduler,
                    step,
                    total_steps=total,
                    warmup_steps=warmup,
                    steps_per_epoch=steps_per_epoch,
                    epoch_decay=cfg.epoch_decay,
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            step += 1
            if cfg.log_every and step % cfg.log_every == 0:
                log(
                    f"step {step}/{total} loss {float(loss):.4f} (character {float(loss_c):.4f}, "
                    f"tags {float(loss_t):.4f}, masked {ratio:.2f})"
                )
            if step >= total or (
                cfg.max_minutes and time.monotonic() - started > 60 * cfg.max_minutes
            ):
                total = step
                break

    threshold = 0.5
    if run.samples("val"):
        val_set = TaggedImages(
            run.samples("val"), index, eval_transform(opts), opts.decode_size(False)
        )
        val = evaluate_multimodal(
            model, tokenizer, eval_batches(val_set, cfg.batch_size, normalizer, device)
        )
        threshold = val["best_tag_threshold"]
        log(f"tag threshold {threshold:.2f} (best F1 on the {len(val_set)} validation images)")
    split = "test" if run.samples("test") else "val"
    eval_set = TaggedImages(
        run.samples(split), index, eval_transform(opts), opts.decode_size(False)
    )
    metrics = evaluate_multimodal(
        model, tokenizer, eval_batches(eval_set, cfg.batch_size, normalizer, device), threshold
    )
    metrics["split"] = split
    for line in format_report(metrics):
        log(line)
    (out / "multimodal_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    model.cpu().eval()
    labels = tuple(Label(c, "character", 0.5) for c in characters)
    pack = write_pack(
        out / PACK_DIR,
        name=Path(cfg.out).name or "vilt",
        backend="torch",
        heads=[HeadSpec("character", default_activation("character"), labels)],
        input_spec=InputSpec(size=cfg.image_size, resize="stretch", mean=opts.mean, std=opts.std),
        model=model,
        metrics={
            k: v for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)
        },
        provenance={
            "trainer": "animesion-train --multimodal",
            "steps": step,
            "training_config": portable_config(cfg.to_dict()),
        },
        multimodal=(
            MultimodalSpec(
                max_text_seq_len=cfg.max_text_seq_len, modes=MODES, tag_threshold=threshold
            ),
            tokenizer,
        ),
    )
    return MultimodalResult(out, pack.path, metrics, step)


def eval_batches(
    dataset: TaggedImages, batch_size: int, normalizer: nn.Module, device: torch.device
) -> Iterator[tuple[Tensor, Tensor, list[list[str]]]]:
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=_collate)
    for images, chars, tags in loader:
        yield normalizer(images.to(device)), chars.to(device), tags
