"""Hugging Face backend: a transformers image classifier from the pack folder (offline)."""

from __future__ import annotations

import numpy as np
import torch

from models.backends.base import Prediction, Predictor, activate
from models.backends.torch_backend import DEFAULT_BATCH, quantize_linear_int8
from models.device import select_device
from models.pack import ModelPack


class HFPredictor(Predictor):
    def __init__(self, pack: ModelPack, device: str | None = None, optimize: bool = True) -> None:
        from transformers import AutoModelForImageClassification

        self.pack = pack
        choice = select_device(device)
        self.device = choice.torch_device
        self.warnings = choice.warnings
        model = AutoModelForImageClassification.from_pretrained(
            str(pack.path), local_files_only=True, use_safetensors=True
        )
        model = model.eval().to(self.device)
        notes: list[str] = []
        # Quantize the encoder only; the classifier stays fp32 (see the torch backend).
        self._precision = "fp32"
        if optimize and self.device.type == "cpu" and quantize_linear_int8(model.base_model):
            notes.append("int8 dynamic quantization")
            self._precision = "int8"
        self.model = model
        self.device_description = " · ".join(
            [choice.description, "transformers", *(notes or ["fp32"])]
        )
        self.batch_size = DEFAULT_BATCH.get(self.device.type, 8)

    def predict(self, batch: np.ndarray) -> Prediction:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        if self.pack.input.layout == "NHWC":
            x = x.permute(0, 3, 1, 2)  # [N,S,S,3] -> [N,3,S,S]
        with torch.inference_mode():
            logits = self.model(pixel_values=x).logits  # [N, C]
        head = self.pack.heads[0]
        return Prediction(
            heads={head.name: activate(logits.float().cpu().numpy(), head.activation)}
        )

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
