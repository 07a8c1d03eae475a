"""Classifier heads: plain linear heads per task and the IFA aggregation of the Animesion paper.

Head names follow Illustration2Vec: ``character`` and ``copyright`` are single-label (softmax),
``general`` is multi-label (sigmoid), ``rating`` is single-label (softmax). Any other lowercase
name is allowed and defaults to softmax.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

HEAD_ACTIVATIONS: dict[str, str] = {
    "character": "softmax",
    "copyright": "softmax",
    "general": "sigmoid",
    "rating": "softmax",
}


def default_activation(head: str) -> str:
    """The activation a head of this name is trained with (softmax unless known multi-label)."""
    return HEAD_ACTIVATIONS.get(head, "softmax")


class ClassifierHeads(nn.Module):
    """One linear layer per head on a shared embedding; ``forward`` returns logits by name."""

    def __init__(self, in_features: int, heads: dict[str, int], dropout: float = 0.0) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(in_features, n) for name, n in heads.items()})

    def forward(self, features: Tensor) -> dict[str, Tensor]:
        x = self.drop(features)  # [N, D]
        return {name: head(x) for name, head in self.heads.items()}  # each [N, C_head]


class IFAPooling(nn.Module):
    """Intermediate features aggregation: a learned weighted sum of every block's CLS token,
    then ReLU and LayerNorm, giving one [N, D] embedding that the linear heads share.

    The per-layer weights are a plain learned vector plus a bias, not softmax-normalised:
    this is exactly the original ``nn.Linear(num_layers, 1)`` over stacked CLS tokens, so
    Animesion checkpoints import without approximation, and a layer may also be weighted
    negatively (a softmax would force a convex mix). They start at 1/L, i.e. the mean of layers.
    """

    def __init__(self, num_layers: int, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.layer_weights = nn.Parameter(torch.full((num_layers,), 1.0 / num_layers))
        self.bias = nn.Parameter(torch.zeros(1))
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, cls_per_layer: Tensor) -> Tensor:
        # [N, L, D] x [L] -> [N, D]
        x = torch.einsum("nld,l->nd", cls_per_layer, self.layer_weights) + self.bias
        return self.norm(torch.relu(x))


class IFAHead(nn.Module):
    """The full single-task IFA head of the paper: IFAPooling followed by a Linear."""

    def __init__(self, num_layers: int, dim: int, num_classes: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.pool = IFAPooling(num_layers, dim, eps)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, cls_per_layer: Tensor) -> Tensor:
        return self.fc(self.pool(cls_per_layer))  # [N, L, D] -> [N, C]
