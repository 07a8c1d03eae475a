"""Animesion's transforms, with options, producing uint8 tensors.

Train: Resize((IS+32, IS+32)) -> RandomCrop(IS) -> RandomHorizontalFlip -> ColorJitter(0.1 x4).
Eval:  Resize((IS, IS)).
Both stop at uint8 CHW tensors; `Normalizer` turns a whole batch into floats with mean/std 0.5
on the training device. That keeps the per-image work in the loader workers small and sends
4x fewer bytes from them than float tensors would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from PIL import Image
from torchvision import transforms as T

HALF = (0.5, 0.5, 0.5)
# Packs resize with PIL bicubic (models.preprocess); evaluating with the same filter keeps the
# metrics of a checkpoint and of its pack the same.
BICUBIC = T.InterpolationMode.BICUBIC


@dataclass(frozen=True)
class TransformOptions:
    image_size: int = 128
    resize_margin: int = 32  # train resize is image_size + margin, then a random crop
    hflip: bool = True
    color_jitter: float = 0.1  # brightness, contrast, saturation and hue; 0 disables
    mean: tuple[float, float, float] = HALF
    std: tuple[float, float, float] = HALF

    def decode_size(self, train: bool) -> int:
        """The smallest side worth decoding: anything larger is resized away anyway."""
        return self.image_size + (self.resize_margin if train else 0)


def train_transform(opts: TransformOptions) -> Callable[[Image.Image], torch.Tensor]:
    size = opts.image_size
    steps: list = []
    if opts.resize_margin > 0:
        big = size + opts.resize_margin
        steps += [T.Resize((big, big), BICUBIC, antialias=True), T.RandomCrop((size, size))]
    else:
        steps.append(T.Resize((size, size), BICUBIC, antialias=True))
    if opts.hflip:
        steps.append(T.RandomHorizontalFlip())
    if opts.color_jitter > 0:
        j = opts.color_jitter
        steps.append(T.ColorJitter(brightness=j, contrast=j, saturation=j, hue=min(j, 0.5)))
    steps.append(T.PILToTensor())
    return T.Compose(steps)


def eval_transform(opts: TransformOptions) -> Callable[[Image.Image], torch.Tensor]:
    size = opts.image_size
    return T.Compose([T.Resize((size, size), BICUBIC, antialias=True), T.PILToTensor()])


class Normalizer(torch.nn.Module):
    """uint8 [N, 3, H, W] -> float, (x / 255 - mean) / std."""

    def __init__(self, mean: tuple[float, ...] = HALF, std: tuple[float, ...] = HALF):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1) * 255.0, persistent=False)
        self.register_buffer("inv_std", 1.0 / (torch.tensor(std).view(1, -1, 1, 1) * 255.0),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) * self.inv_std
