"""ResNet-18/50/152 from torchvision, with the ImageNet classifier replaced by our heads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision import models as tvm

from models.architectures._common import load_torchvision_backbone, reject_vit_fields
from models.base import AnimesionModel
from models.config import ModelConfig
from models.registry import register_model

_FACTORIES: dict[str, Callable[..., tvm.ResNet]] = {
    "resnet18": tvm.resnet18,
    "resnet50": tvm.resnet50,
    "resnet152": tvm.resnet152,
}


class ResNet(AnimesionModel):
    family = "cnn"

    def __init__(self, config: ModelConfig) -> None:
        backbone = _FACTORIES[config.name](weights=None)
        super().__init__(config, num_features=backbone.fc.in_features)  # 512 or 2048
        backbone.fc = nn.Identity()  # our heads replace the 1000-way ImageNet classifier
        self.backbone = backbone

    def _stem(self, x: Tensor) -> Tensor:
        b = self.backbone
        return b.maxpool(b.relu(b.bn1(b.conv1(x))))  # [N,3,S,S] -> [N,64,S/4,S/4]

    def forward_intermediates(self, x: Tensor) -> list[Tensor]:
        x = self._stem(x)
        pooled = []
        for stage in (
            self.backbone.layer1,
            self.backbone.layer2,
            self.backbone.layer3,
            self.backbone.layer4,
        ):
            x = stage(x)  # spatial /2 per stage after the first
            pooled.append(x.mean(dim=(2, 3)))  # [N, C_stage]
        return pooled

    def forward_features(self, x: Tensor) -> Tensor:
        return torch.flatten(self.backbone(x), 1)  # [N, 512 | 2048]

    def load_pretrained_backbone(self, path: Path) -> None:
        load_torchvision_backbone(self.backbone, path, classifier_prefix="fc.")


def _build(config: ModelConfig) -> AnimesionModel:
    reject_vit_fields(config)
    return ResNet(config)


for _name in _FACTORIES:
    register_model(_name)(_build)
