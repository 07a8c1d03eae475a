"""What every backend returns: the Predictor interface and its Prediction."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from PIL import Image

from models.pack import ModelPack
from models.preprocess import preprocess_image


@dataclass
class Prediction:
    """Per-head probabilities [N, C] (float32, in the order of the head's labels) and the
    penultimate embedding [N, D] where the backend can give one; multimodal packs also say
    which of their modes (models.multimodal_spec.MODES) answered each image."""

    heads: dict[str, np.ndarray]
    embedding: np.ndarray | None = None
    modes: list[str] | None = None  # multimodal packs: the mode that answered each image


def activate(values: np.ndarray, activation: str) -> np.ndarray:
    """Raw outputs [N, C] -> probabilities; "none" means they already are probabilities."""
    x = np.asarray(values, dtype=np.float32).reshape(values.shape[0], -1)
    if activation == "softmax":
        x = x - x.max(axis=1, keepdims=True)  # stable: exp never overflows
        e = np.exp(x)
        return e / e.sum(axis=1, keepdims=True)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    return x


class Predictor(ABC):
    """Runs one pack on one device. Not thread-safe: one inference thread owns it."""

    pack: ModelPack
    device_description: str
    batch_size: int

    @property
    def precision(self) -> str:
        """The path answering now (models.precision): fp32 unless a backend says otherwise."""
        return str(getattr(self, "_precision", "fp32"))

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """One sample in the pack's layout, float32 ([3,S,S] NCHW or [S,S,3] NHWC)."""
        return preprocess_image(image, self.pack.input)

    @abstractmethod
    def predict(self, batch: np.ndarray) -> Prediction:
        """``batch``: stacked samples from :meth:`preprocess`, [N, ...]."""

    @abstractmethod
    def close(self) -> None:
        """Release the model."""

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
