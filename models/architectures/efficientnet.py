"""EfficientNet-B0 from torchvision, with the ImageNet classifier replaced by our heads."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision import models as tvm

from models.architectures._common import load_torchvision_backbone, reject_vit_fields
from models.base import AnimesionModel
from models.config import ModelConfig
from models.registry import register_model


class EfficientNet(AnimesionModel):
    family = "cnn"

    def __init__(self, config: ModelConfig) -> None:
        backbone = tvm.efficientnet_b0(weights=None)
        num_features = backbone.classifier[1].in_features  # 1280
        super().__init__(config, num_features=num_features)
        # torchvision's classifier is Dropout + Linear(1000); dropout lives in our heads.
        backbone.classifier = nn.Identity()
        self.backbone = backbone

    def forward_intermediates(self, x: Tensor) -> list[Tensor]:
        pooled = []
        for stage in self.backbone.features:  # 9 stages, spatial /32 overall
            x = stage(x)
            pooled.append(x.mean(dim=(2, 3)))  # [N, C_stage]
        return pooled

    def forward_features(self, x: Tensor) -> Tensor:
        return torch.flatten(self.backbone(x), 1)  # [N, 1280]

    def load_pretrained_backbone(self, path: Path) -> None:
        load_torchvision_backbone(self.backbone, path, classifier_prefix="classifier.")


@register_model("efficientnet_b0")
def efficientnet_b0(config: ModelConfig) -> AnimesionModel:
    reject_vit_fields(config)
    return EfficientNet(config)
