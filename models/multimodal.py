"""The three inference modes of a ViLT model.

* ``image_only``: every tag slot is [MASK]; character logits only see the image.
* ``recognize_and_generate``: the image-only pass, plus the tags its masked slots predict,
  each with a probability (the highest over the slots), thresholded, special tokens and
  repeats left out.
* ``recognize_with_tags``: the tags an image already carries (the user's accepted ones) are
  given as text tokens, and the character logits are conditioned on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from models.architectures.vilt import ViLT
from models.multimodal_spec import MODES
from models.tag_tokenizer import NUM_SPECIAL, TagTokenizer

__all__ = [
    "MODES",
    "MultimodalResult",
    "image_only",
    "recognize_and_generate",
    "recognize_with_tags",
]


@dataclass(frozen=True)
class MultimodalResult:
    heads: dict[str, Tensor]  # head name -> probabilities [C] (softmax or sigmoid per head)
    tags: list[tuple[str, float]]  # generated tags, most probable first (empty if not asked)
    mode: str  # one of MODES
    embedding: Tensor | None = None  # pooled features [D] the heads read, for this input


def tag_probabilities(tag_logits: Tensor, slots: Tensor) -> Tensor:
    """Per image, each vocabulary entry's highest probability over the chosen slots.

    tag_logits [N, T, V], slots [N, T] bool -> [N, V]; special tokens get 0.
    """
    probs = tag_logits.float().softmax(dim=-1) * slots[..., None]  # [N, T, V]
    best = probs.amax(dim=1)  # [N, V]
    best[:, :NUM_SPECIAL] = 0.0
    return best


def _head_probs(logits: dict[str, Tensor], activations: dict[str, str]) -> list[dict[str, Tensor]]:
    n = next(iter(logits.values())).shape[0]
    out: list[dict[str, Tensor]] = [{} for _ in range(n)]
    for name, value in logits.items():
        p = (
            value.float().sigmoid()
            if activations.get(name) == "sigmoid"
            else value.float().softmax(-1)
        )
        for i in range(n):
            out[i][name] = p[i]
    return out


@torch.inference_mode()
def image_only(
    model: ViLT, images: Tensor, activations: dict[str, str] | None = None
) -> list[MultimodalResult]:
    tags = model.masked_tags(images.shape[0], images.device)
    features, heads, _ = model.forward_multimodal_features(images, tags)
    return [
        MultimodalResult(h, [], "image_only", features[i])
        for i, h in enumerate(_head_probs(heads, activations or {}))
    ]


@torch.inference_mode()
def recognize_and_generate(
    model: ViLT,
    tokenizer: TagTokenizer,
    images: Tensor,
    threshold: float | Sequence[float] = 0.5,
    activations: dict[str, str] | None = None,
) -> list[MultimodalResult]:
    """``threshold`` is one value or one per vocabulary id (a pack's per-tag thresholds)."""
    tags = model.masked_tags(images.shape[0], images.device)
    features, heads, tag_logits = model.forward_multimodal_features(images, tags)
    probs = tag_probabilities(tag_logits, torch.ones_like(tags, dtype=torch.bool))  # [N, V]
    limit = torch.as_tensor(threshold, dtype=probs.dtype)
    if limit.ndim and limit.shape[0] != probs.shape[1]:
        raise ValueError(f"threshold: expected {probs.shape[1]} values, got {limit.shape[0]}")
    results = []
    for i, h in enumerate(_head_probs(heads, activations or {})):
        hits = torch.nonzero(probs[i] >= limit).flatten().tolist()
        found = [(tokenizer.tokens[j], float(probs[i, j])) for j in hits if j >= NUM_SPECIAL]
        found.sort(key=lambda tp: (-tp[1], tp[0]))
        results.append(MultimodalResult(h, found, "generate", features[i]))
    return results


@torch.inference_mode()
def recognize_with_tags(
    model: ViLT,
    tokenizer: TagTokenizer,
    images: Tensor,
    known_tags: Sequence[Sequence[str]],
    activations: dict[str, str] | None = None,
) -> list[MultimodalResult]:
    """Character logits given each image's known tags (unknown tags become [UNK]).

    An image with no known tags falls back to image-only input, so its result equals the
    ``image_only`` one and says so in ``mode``.
    """
    if len(known_tags) != images.shape[0]:
        raise ValueError(f"known_tags: {len(known_tags)} lists for {images.shape[0]} images")
    assert model.config.max_text_seq_len
    tags = tokenizer.encode_batch(known_tags, model.config.max_text_seq_len).to(images.device)
    masked = model.masked_tags(images.shape[0], images.device)
    empty = torch.tensor([not t for t in known_tags], device=images.device)
    tags = torch.where(empty[:, None], masked, tags)
    features, heads, _ = model.forward_multimodal_features(images, tags)
    probs = _head_probs(heads, activations or {})
    return [
        MultimodalResult(h, [], "image_only" if not known_tags[i] else "conditioned", features[i])
        for i, h in enumerate(probs)
    ]
