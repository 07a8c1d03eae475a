"""Multi-head losses (Illustration2Vec's heads, Animesion's options).

Softmax heads (character, copyright, rating): cross-entropy, with optional label smoothing and
class-balanced weights. The sigmoid head (general tags): binary cross-entropy over the images
whose tags are known. Unlabelled images add nothing to a head, and a batch where a head has no
labels at all contributes a zero that still touches its logits (DDP needs every parameter used).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from training.data.labels import IGNORE_INDEX


def class_balanced_weights(counts: Tensor, beta: float) -> Tensor:
    """Cui et al. 2019, "Class-Balanced Loss Based on Effective Number of Samples":
    w_c = (1 - beta) / (1 - beta^n_c), scaled so the weights average 1 over the training images.
    Classes absent from training get the mean weight (they never appear as targets anyway)."""
    counts = counts.double()
    weights = torch.zeros_like(counts)
    present = counts > 0
    weights[present] = (1.0 - beta) / (1.0 - torch.pow(beta, counts[present]))
    if present.any():
        weights[present] *= counts[present].sum() / (weights[present] * counts[present]).sum()
        weights[~present] = weights[present].mean()
    else:
        weights[:] = 1.0
    return weights.float()


class MultiHeadLoss(nn.Module):
    def __init__(
        self,
        kinds: dict[str, str],
        *,
        label_smoothing: float = 0.0,
        class_weights: dict[str, Tensor] | None = None,
        head_weights: dict[str, float] | None = None,
    ):
        super().__init__()
        self.kinds = dict(kinds)
        self.label_smoothing = label_smoothing
        self.head_weights = head_weights or {}
        for head, w in (class_weights or {}).items():
            self.register_buffer(f"cw_{head}", w.float())

    def _class_weight(self, head: str) -> Tensor | None:
        return getattr(self, f"cw_{head}", None)

    def forward(
        self, logits: dict[str, Tensor], targets: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss and the detached loss of each head."""
        total: Tensor | None = None
        parts: dict[str, Tensor] = {}
        for head, kind in self.kinds.items():
            out = logits[head].float()  # autocast may give bf16/fp16 logits; losses in fp32
            target = targets[head]
            weight = self._class_weight(head)
            if kind == "sigmoid":
                known = target[:, 0] >= 0  # rows of -1: tags unknown for that image
                if known.any():
                    element = F.binary_cross_entropy_with_logits(
                        out[known], target[known], reduction="none"
                    )
                    if weight is not None:
                        element = element * weight
                    loss = element.mean()
                else:
                    loss = out.sum() * 0.0
            else:
                valid = target != IGNORE_INDEX
                if valid.any():
                    summed = F.cross_entropy(
                        out, target, weight=weight, ignore_index=IGNORE_INDEX,
                        label_smoothing=self.label_smoothing, reduction="sum",
                    )
                    loss = summed / valid.sum()
                else:
                    loss = out.sum() * 0.0
            parts[head] = loss.detach()
            weighted = loss * self.head_weights.get(head, 1.0)
            total = weighted if total is None else total + weighted
        assert total is not None, "no heads to train"
        return total, parts


def exclusion_loss(intermediates: list[Tensor], distance: int = 2, temperature: float = 1.0) -> Tensor:
    """Animesion's layer-wise exclusion term: KL divergence between the softened CLS tokens of
    blocks `distance` apart, summed over blocks. Training *subtracts* weight * T^2 * this, which
    pushes layers to carry different information for the IFA head to combine."""
    total = intermediates[0].new_zeros(())
    for i in range(len(intermediates) - distance):
        early = F.log_softmax(intermediates[i].float() / temperature, dim=1)
        late = F.softmax(intermediates[i + distance].float() / temperature, dim=1)
        total = total + F.kl_div(early, late, reduction="batchmean")
    return total


def tag_counts(targets: Tensor) -> Tensor:
    """Positives per tag over the rows whose tags are known ([N, T] multi-hot, -1 rows unknown)."""
    known = targets[:, 0] >= 0
    return targets[known].clamp(min=0).sum(dim=0)


def class_counts(targets: Tensor, n_classes: int) -> Tensor:
    valid = targets[targets != IGNORE_INDEX]
    return torch.bincount(valid, minlength=n_classes)
