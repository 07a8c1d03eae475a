"""Which tag tokens a ViLT training step hides, and how (Animesion's mask schedules).

``--mask-schedule`` sets the share of an image's tag tokens that are masked at a point of
training (``progress`` in [0, 1]): ``none`` never (tags always given, no MLM loss), ``bert``
15 %, ``full`` all of them, ``cosine`` rising from 0 to all along a half cosine, so training
visits both ends the inference modes use (tags given; image only). ``--masking-behavior``
``constant`` puts [MASK] at every chosen slot; ``random`` is BERT's 80 % [MASK], 10 % a random
tag, 10 % unchanged. ``--shuffle-tokens`` permutes each image's tags first (the order of a tag
list carries no meaning). A sample whose every tag ends up masked is fed exactly as image-only
inference sees it: every slot [MASK].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from models.tag_tokenizer import MASK_ID, NUM_SPECIAL, UNK_ID

MASK_SCHEDULES = ("none", "bert", "full", "cosine")
MASKING_BEHAVIORS = ("constant", "random")
IGNORE = -100  # CrossEntropyLoss ignore_index: slots without an MLM target


def mask_ratio(schedule: str, progress: float) -> float:
    if schedule == "none":
        return 0.0
    if schedule == "bert":
        return 0.15
    if schedule == "full":
        return 1.0
    if schedule == "cosine":
        p = min(1.0, max(0.0, progress))
        return 0.5 * (1.0 - math.cos(math.pi * p))
    raise ValueError(
        f"mask_schedule: expected one of {', '.join(MASK_SCHEDULES)}, got {schedule!r}"
    )


def is_tag(ids: Tensor) -> Tensor:
    """Slots that hold a tag (known or [UNK]), not [PAD]/[CLS]/[SEP]/[MASK]."""
    return (ids >= NUM_SPECIAL) | (ids == UNK_ID)


def shuffle_tags(ids: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Each row's tag slots permuted among themselves; special slots stay where they are."""
    out = ids.clone()
    for row in range(ids.shape[0]):
        slots = torch.nonzero(is_tag(ids[row])).flatten()
        if len(slots) > 1:
            order = torch.randperm(len(slots), generator=generator)
            out[row, slots] = ids[row, slots[order]]
    return out


def mask_tags(
    ids: Tensor,
    ratio: float,
    behavior: str = "constant",
    vocab_size: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """(inputs [N, T], MLM targets [N, T] with IGNORE where nothing is asked)."""
    if behavior not in MASKING_BEHAVIORS:
        raise ValueError(
            f"masking_behavior: expected one of {', '.join(MASKING_BEHAVIORS)}, got {behavior!r}"
        )
    tags = is_tag(ids)
    draw = torch.rand(ids.shape, generator=generator)
    chosen = tags & (draw < ratio) if ratio < 1.0 else tags
    targets = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    inputs = ids.clone()
    if behavior == "constant":
        inputs[chosen] = MASK_ID
    else:
        if vocab_size is None:
            raise ValueError("masking_behavior random needs the vocabulary size")
        how = torch.rand(ids.shape, generator=generator)
        as_mask = chosen & (how < 0.8)
        as_random = chosen & (how >= 0.8) & (how < 0.9)
        inputs[as_mask] = MASK_ID
        random_ids = torch.randint(NUM_SPECIAL, vocab_size, ids.shape, generator=generator)
        inputs[as_random] = random_ids[as_random]
    all_masked = (tags.sum(1) > 0) & ((chosen == tags).all(1))
    if behavior == "constant":
        inputs[all_masked] = MASK_ID  # the image-only input: every slot [MASK]
    return inputs, targets
