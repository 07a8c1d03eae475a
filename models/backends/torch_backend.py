"""Torch backend: our AnimesionModel from weights.safetensors, with CPU fast paths.

CPU fast paths (``optimize=True``): ViTs get int8 dynamic quantization of the encoder's
Linear layers (heads stay fp32, they are cheap and decide the ranking); CNNs are exported to
ONNX and run by onnxruntime, int8 once calibrated on the first images (cnn_onnx.py); if that is not possible they run
channels_last and, only where the CPU has native bfloat16, under bfloat16 autocast.
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from models.backends.base import Prediction, Predictor, activate
from models.backends.cnn_onnx import CALIBRATION, OnnxCnnRunner, export_cnn
from models.base import AnimesionModel
from models.device import cpu_supports_bf16, select_device
from models.pack import ModelPack
from models.pack_checks import TORCH_WEIGHTS
from models.registry import build_model

DEFAULT_BATCH = {"cpu": 8, "cuda": 32, "mps": 16}


def load_pack_model(pack: ModelPack) -> AnimesionModel:
    """Build the pack's model and load its weights (eval mode, on the CPU)."""
    assert pack.architecture is not None
    state = load_file(str(pack.file(TORCH_WEIGHTS)))
    # Build on the meta device and adopt the loaded tensors: skips initialising weights that
    # are overwritten anyway (seconds for a ViT-L).
    with torch.device("meta"):
        model = build_model(pack.architecture)
    model.load_state_dict(state, strict=True, assign=True)
    if any(t.is_meta for t in [*model.parameters(), *model.buffers()]):
        model = build_model(pack.architecture)  # a non-persistent buffer: build for real
        model.load_state_dict(state, strict=True)
    return model.eval()


def quantize_linear_int8(module: nn.Module) -> bool:
    """Dynamic int8 quantization of every nn.Linear in ``module``, in place; False if the
    platform has no quantized engine (the model is then left as it was)."""
    if torch.backends.quantized.engine == "none":
        return False
    quantize = getattr(getattr(torch, "ao", None), "quantization", None)
    if quantize is None or not hasattr(quantize, "quantize_dynamic"):
        return False
    try:
        with warnings.catch_warnings():
            # torch.ao.quantization is deprecated in favour of torchao, which we do not ship.
            warnings.simplefilter("ignore")
            quantize.quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8, inplace=True)
    except (RuntimeError, NotImplementedError):
        return False
    return True


def int8_cache_path(pack: ModelPack, cache_dir: Path | None) -> Path | None:
    """Where the calibrated int8 graph of a CNN pack is kept, named by its weights' hash so a
    replaced pack never meets a stale graph."""
    if cache_dir is None:
        return None
    digest = hashlib.sha256()
    with pack.file(TORCH_WEIGHTS).open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return cache_dir / f"{pack.name}-{digest.hexdigest()[:20]}-int8.onnx"


class TorchPredictor(Predictor):
    def __init__(self, pack: ModelPack, device: str | None = None, optimize: bool = True,
                 cache_dir: Path | None = None) -> None:
        self.pack = pack
        choice = select_device(device)
        self.device = choice.torch_device
        self.warnings = choice.warnings
        model = load_pack_model(pack).to(self.device)
        self._channels_last = False
        self._autocast: torch.dtype | None = None
        self._onnx: OnnxCnnRunner | None = None
        notes: list[str] = []
        if optimize and self.device.type == "cpu":
            if model.family == "vit":
                backbone = model.backbone  # every ViT has one
                assert isinstance(backbone, nn.Module)
                if quantize_linear_int8(backbone):
                    notes.append("int8 dynamic quantization")
            else:
                self._onnx = export_cnn(model, pack.input.size, [h.name for h in pack.heads],
                                        cache_path=int8_cache_path(pack, cache_dir))
                if self._onnx is not None:
                    notes.append(f"onnxruntime · int8 after calibrating on {CALIBRATION} images")
                else:
                    model = model.to(memory_format=torch.channels_last)
                    self._channels_last = True
                    notes.append("channels_last")
                    if cpu_supports_bf16():
                        self._autocast = torch.bfloat16
                        notes.append("bfloat16 autocast")
        self.model = model
        self.device_description = " · ".join([choice.description, *(notes or ["fp32"])])
        self.batch_size = DEFAULT_BATCH.get(self.device.type, 8)

    @contextlib.contextmanager
    def _precision(self) -> Iterator[None]:
        if self._autocast is None:
            yield
        else:
            with torch.autocast(device_type=self.device.type, dtype=self._autocast):
                yield

    def predict(self, batch: np.ndarray) -> Prediction:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        if self.pack.input.layout == "NHWC":
            x = x.permute(0, 3, 1, 2)  # [N,S,S,3] -> [N,3,S,S]: torch models are NCHW
        if self._onnx is not None:
            embedding, raw = self._onnx.run(np.ascontiguousarray(x.numpy()))
            return Prediction(
                heads={h.name: activate(raw[h.name], h.activation) for h in self.pack.heads},
                embedding=embedding,
            )
        if self._channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), self._precision():
            features = self.model.forward_features(x)  # [N, D]
            logits = self.model.forward_head(features)
        heads = {
            h.name: activate(logits[h.name].float().cpu().numpy(), h.activation)
            for h in self.pack.heads
        }
        return Prediction(heads=heads, embedding=features.float().cpu().numpy())

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
        self._onnx = None
