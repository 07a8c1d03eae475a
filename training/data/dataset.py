"""Torch data sets: image files decoded on the fly, or tensors already in memory."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from PIL import Image
from torch.utils.data import Dataset

from training.data.images import load_rgb
from training.data.labels import TargetEncoder
from training.data.samples import Sample

Item = tuple[torch.Tensor, dict[str, torch.Tensor]]


class ImageFileDataset(Dataset):
    """(uint8 image [3, H, W], {head: target}) for each sample."""

    def __init__(
        self,
        samples: Sequence[Sample],
        encoder: TargetEncoder,
        transform: Callable[[Image.Image], torch.Tensor],
        decode_size: int | None = None,
    ):
        self.samples = list(samples)
        self.encoder = encoder
        self.transform = transform
        self.decode_size = decode_size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Item:
        sample = self.samples[index]
        image = load_rgb(sample.path, self.decode_size)
        return self.transform(image), self.encoder(sample)


class InMemoryDataset(Dataset):
    """Pre-decoded uint8 images and their targets: the loader-free baseline of the benchmark."""

    def __init__(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]]):
        self.images = images
        self.targets = targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> Item:
        return self.images[index], self.targets[index]

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> InMemoryDataset:
        items = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
        return cls(torch.stack([x for x, _ in items]), [t for _, t in items])
