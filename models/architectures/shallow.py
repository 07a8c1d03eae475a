"""The shallow baseline of the Animesion paper: 2 conv blocks + 2 fully connected layers.

Module names mirror the original project (layer1, layer2, then fc1 and the classifier) so its
checkpoints map one to one.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from models.architectures._common import reject_vit_fields
from models.base import AnimesionModel
from models.config import ModelConfig
from models.registry import register_model

FC_NEURONS = 512


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=5, stride=1, padding=0),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
    )


def flat_side(image_size: int) -> int:
    """Side of the last feature map: each block is conv5 (-4) then maxpool (/2)."""
    return ((image_size - 4) // 2 - 4) // 2


class ShallowNet(AnimesionModel):
    family = "cnn"

    def __init__(self, config: ModelConfig) -> None:
        side = flat_side(config.image_size)
        if side < 1:
            raise ValueError(f"image_size: shallow needs at least 16 px, got {config.image_size}")
        super().__init__(config, num_features=FC_NEURONS)
        self.layer1 = _conv_block(3, 16)  # [N,3,S,S] -> [N,16,(S-4)/2,(S-4)/2]
        self.layer2 = _conv_block(16, 32)  # -> [N,32,side,side]
        self.fc1 = nn.Linear(32 * side * side, FC_NEURONS)
        self.drop = nn.Dropout(0.2)

    def forward_intermediates(self, x: Tensor) -> list[Tensor]:
        a = self.layer1(x)
        b = self.layer2(a)
        return [a.mean(dim=(2, 3)), b.mean(dim=(2, 3))]  # [N,16], [N,32]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.layer2(self.layer1(x))  # [N,32,side,side]
        x = torch.flatten(x, 1)  # [N, 32*side*side]
        return self.drop(torch.relu(self.fc1(x)))  # [N, 512]


@register_model("shallow")
def shallow(config: ModelConfig) -> AnimesionModel:
    reject_vit_fields(config)
    return ShallowNet(config)
