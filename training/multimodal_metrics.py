"""Evaluation of a ViLT model: top-1 with and without the image's tags, and tag generation.

Top-1 "without tags" is the image-only mode (every tag slot [MASK]); "with tags" gives the
image's ground-truth tags as text tokens (the conditioned mode, as when the user has accepted
tags). Tag generation is scored from the image-only pass: each tag's probability is its best
over the slots; precision, recall and F1 (micro and macro) at the pack's threshold, and mAP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from models.architectures.vilt import ViLT
from models.multimodal import tag_probabilities
from models.tag_tokenizer import NUM_SPECIAL, TagTokenizer
from training.metrics import f1_at, mean_average_precision


def multi_hot(tokenizer: TagTokenizer, tags: Sequence[Sequence[str]]) -> np.ndarray:
    """[N, V - specials] ground truth over the vocabulary's tags (unknown tags dropped)."""
    out = np.zeros((len(tags), len(tokenizer) - NUM_SPECIAL), dtype=np.float32)
    for i, row in enumerate(tags):
        for tag in row:
            j = tokenizer.ids.get(tag)
            if j is not None and j >= NUM_SPECIAL:
                out[i, j - NUM_SPECIAL] = 1.0
    return out


@torch.inference_mode()
def evaluate_multimodal(
    model: ViLT,
    tokenizer: TagTokenizer,
    batches: Iterable[tuple[Tensor, Tensor, Sequence[Sequence[str]]]],
    threshold: float = 0.5,
) -> dict[str, Any]:
    """``batches`` yields (normalised images, character ids, tag lists)."""
    model.eval()
    assert model.config.max_text_seq_len
    correct_without = correct_with = count = 0
    probs: list[np.ndarray] = []
    truth: list[np.ndarray] = []
    for images, characters, tags in batches:
        masked = model.masked_tags(images.shape[0], images.device)
        heads, tag_logits = model.forward_multimodal(images, masked)
        correct_without += int((heads["character"].argmax(1) == characters).sum())
        given = tokenizer.encode_batch(tags, model.config.max_text_seq_len).to(images.device)
        heads_with, _ = model.forward_multimodal(images, given)
        correct_with += int((heads_with["character"].argmax(1) == characters).sum())
        count += images.shape[0]
        best = tag_probabilities(tag_logits, torch.ones_like(masked, dtype=torch.bool))
        probs.append(best[:, NUM_SPECIAL:].cpu().numpy())
        truth.append(multi_hot(tokenizer, tags))
    p, t = np.concatenate(probs), np.concatenate(truth)
    scores = f1_at(p, t, threshold)
    chosen = best_threshold(p, t)
    mean_ap, _ = mean_average_precision(p, t)
    return {
        "images": count,
        "top1_without_tags": correct_without / max(1, count),
        "top1_with_tags": correct_with / max(1, count),
        "tag_threshold": threshold,
        "tag_precision": scores["micro_precision"],
        "tag_recall": scores["micro_recall"],
        "tag_f1": scores["micro_f1"],
        "tag_macro_f1": scores["macro_f1"],
        "tag_map": mean_ap,
        "best_tag_threshold": chosen,
    }


def best_threshold(probs: np.ndarray, truth: np.ndarray) -> float:
    """The one threshold of a grid with the highest micro F1 on these images.

    A tag's probability is its best slot's softmax share, and an image's tags split the slots
    among them, so useful thresholds sit well below 0.5: the pack records the one chosen on
    the validation split.
    """
    grid = np.round(np.arange(0.02, 0.92, 0.02), 2)
    f1 = [f1_at(probs, truth, float(g))["micro_f1"] for g in grid]
    return float(grid[int(np.argmax(f1))])


def format_report(metrics: dict[str, Any]) -> list[str]:
    return [
        f"multimodal: {metrics['images']} images",
        f"  top-1 without tags (image only): {metrics['top1_without_tags']:.4f}",
        f"  top-1 with tags (conditioned):   {metrics['top1_with_tags']:.4f}",
        f"  tag generation at {metrics['tag_threshold']:.2f}: precision "
        f"{metrics['tag_precision']:.4f} recall {metrics['tag_recall']:.4f} "
        f"F1 {metrics['tag_f1']:.4f} (macro F1 {metrics['tag_macro_f1']:.4f}); "
        f"mAP {metrics['tag_map']:.4f}",
    ]
