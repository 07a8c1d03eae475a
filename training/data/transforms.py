"""Animesion's transforms, with options, producing uint8 tensors.

Train: Resize((IS+32, IS+32)) -> RandomCrop(IS) -> RandomHorizontalFlip -> ColorJitter(0.1 x4).
Eval:  Resize((IS, IS)).

The geometric steps run per image in the loader workers and stop at uint8 CHW tensors. The
colour jitter and the normalisation (mean/std 0.5) run on whole batches on the training
device (`BatchColorJitter`, `Normalizer`): per-image PIL colour jitter (the hue step converts
to HSV and back) was half of the loader's CPU time, and on a machine whose cores also run the
model that slowed training by a quarter; on a batch it is a few vectorised operations. Each
image still gets its own random factors. Workers also send uint8, 4x fewer bytes than floats.
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

    @classmethod
    def from_config(cls, cfg: object) -> TransformOptions:
        """From anything with TrainConfig's augmentation fields."""
        return cls(
            image_size=cfg.image_size,  # type: ignore[attr-defined]
            resize_margin=cfg.resize_margin,  # type: ignore[attr-defined]
            hflip=cfg.hflip,  # type: ignore[attr-defined]
            color_jitter=cfg.color_jitter,  # type: ignore[attr-defined]
        )

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
    steps.append(T.PILToTensor())  # colour jitter follows on the batch: BatchColorJitter
    return T.Compose(steps)


def eval_transform(opts: TransformOptions) -> Callable[[Image.Image], torch.Tensor]:
    size = opts.image_size
    return T.Compose([T.Resize((size, size), BICUBIC, antialias=True), T.PILToTensor()])


# RGB -> YIQ; a hue shift is a rotation of the (I, Q) chroma plane.
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


class BatchColorJitter(torch.nn.Module):
    """torchvision's ColorJitter(b, c, s, h) for a uint8 batch [N, 3, H, W], with independent
    random factors per image; returns floats in 0..255 (what Normalizer takes).

    Brightness, contrast and saturation follow torchvision's definitions (scale; blend with
    the mean grey; blend with the greyscale image). Hue is a rotation by up to +-h of a full
    turn in YIQ space instead of an HSV shift: the same kind of change, as one 3x3 matrix."""

    yiq: torch.Tensor  # buffers, registered in __init__
    rgb: torch.Tensor

    def __init__(self, amount: float = 0.1):
        super().__init__()
        self.amount = amount
        self.register_buffer("yiq", _YIQ.clone(), persistent=False)
        self.register_buffer("rgb", torch.linalg.inv(_YIQ), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float()
        if not self.training or self.amount <= 0:
            return x
        n, a = x.shape[0], self.amount

        def factor() -> torch.Tensor:
            return 1.0 + (torch.rand(n, 1, 1, 1, device=x.device) * 2 - 1) * a

        luma = self.yiq[0].view(1, 3, 1, 1)
        x = x * factor()  # brightness
        mean = (x * luma).sum(1, keepdim=True).mean(dim=(2, 3), keepdim=True)  # [N,1,1,1]
        x = (x - mean) * factor() + mean  # contrast
        grey = (x * luma).sum(1, keepdim=True)  # [N,1,H,W]
        x = (x - grey) * factor() + grey  # saturation
        angle = (torch.rand(n, device=x.device) * 2 - 1) * min(a, 0.5) * 2 * torch.pi
        cos, sin = torch.cos(angle), torch.sin(angle)
        rotation = torch.zeros(n, 3, 3, device=x.device)
        rotation[:, 0, 0] = 1.0
        rotation[:, 1, 1], rotation[:, 1, 2] = cos, -sin
        rotation[:, 2, 1], rotation[:, 2, 2] = sin, cos
        matrix = self.rgb @ rotation @ self.yiq  # [N,3,3]: RGB -> YIQ -> rotate -> RGB
        x = torch.einsum("nij,njhw->nihw", matrix, x)
        return x.clamp_(0.0, 255.0)


class Normalizer(torch.nn.Module):
    """uint8 (or float 0..255) [N, 3, H, W] -> float, (x / 255 - mean) / std."""

    mean: torch.Tensor  # buffers, registered in __init__
    inv_std: torch.Tensor

    def __init__(self, mean: tuple[float, ...] = HALF, std: tuple[float, ...] = HALF):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1) * 255.0, persistent=False)
        self.register_buffer("inv_std", 1.0 / (torch.tensor(std).view(1, -1, 1, 1) * 255.0),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) * self.inv_std
