"""ONNX backend (onnxruntime), e.g. for WD taggers.

Providers: CUDA, DirectML or CoreML when onnxruntime has them, else CPU. A model whose batch
dimension is dynamic gets whole batches; a fixed batch dimension is honoured by running
chunks of that size (padding the last one).
"""

from __future__ import annotations

import numpy as np

from models.backends.base import Prediction, Predictor, activate
from models.device import DeviceError
from models.pack import ModelPack
from models.pack_checks import ONNX_MODEL

_GPU_PROVIDERS = ("CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider")
_REQUEST_TO_PROVIDER = {
    "cuda": "CUDAExecutionProvider",
    "dml": "DmlExecutionProvider",
    "directml": "DmlExecutionProvider",
    "mps": "CoreMLExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}


def choose_providers(requested: str | None, available: list[str]) -> list[str | tuple[str, dict]]:
    req = (requested or "auto").strip().lower()
    if req == "cpu":
        return ["CPUExecutionProvider"]
    if req == "auto":
        gpu = [p for p in _GPU_PROVIDERS if p in available]
        return [gpu[0], "CPUExecutionProvider"] if gpu else ["CPUExecutionProvider"]
    base, _, index = req.partition(":")
    provider = _REQUEST_TO_PROVIDER.get(base)
    if provider is None or (index and not index.isdigit()):
        raise DeviceError(f"unknown device {requested!r}: use auto, cpu, cuda, cuda:N, dml or mps")
    if provider not in available:
        raise DeviceError(
            f"device {requested!r} is not available to onnxruntime (it has {', '.join(available)})"
        )
    if index:
        return [(provider, {"device_id": int(index)}), "CPUExecutionProvider"]
    return [provider, "CPUExecutionProvider"]


class OnnxPredictor(Predictor):
    def __init__(self, pack: ModelPack, device: str | None = None, optimize: bool = True) -> None:
        import onnxruntime as ort

        self.pack = pack
        providers = choose_providers(device, ort.get_available_providers())
        options = ort.SessionOptions()
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if optimize
            else ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        )
        self.session = ort.InferenceSession(
            str(pack.file(ONNX_MODEL)), options, providers=providers
        )
        used = self.session.get_providers()[0]
        on_gpu = used != "CPUExecutionProvider"
        inp = self.session.get_inputs()[0]
        self._input = inp.name
        self._dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        fixed = inp.shape[0] if isinstance(inp.shape[0], int) and inp.shape[0] > 0 else None
        self._fixed_batch = fixed
        self.batch_size = fixed or (32 if on_gpu else 8)
        outputs = [o.name for o in self.session.get_outputs()]
        self._outputs = []  # graph output name per head; by default the head's position
        for i, head in enumerate(pack.heads):
            ref = i if head.output is None else head.output
            self._outputs.append(ref if isinstance(ref, str) else outputs[ref])
        self.device_description = f"onnxruntime · {used.removesuffix('ExecutionProvider')} · " + (
            f"fixed batch {fixed}" if fixed else "dynamic batch"
        )

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        return self.session.run(self._outputs, {self._input: x})

    def predict(self, batch: np.ndarray) -> Prediction:
        x = np.ascontiguousarray(batch, dtype=self._dtype)
        n = x.shape[0]
        if self._fixed_batch is None:
            results = self._run(x)
        else:
            step = self._fixed_batch
            chunks: list[list[np.ndarray]] = []
            for start in range(0, n, step):
                part = x[start : start + step]
                if part.shape[0] < step:  # pad the last chunk to the fixed batch size
                    pad = np.zeros((step - part.shape[0], *part.shape[1:]), dtype=x.dtype)
                    part = np.concatenate([part, pad])
                chunks.append([r[: min(step, n - start)] for r in self._run(part)])
            results = [np.concatenate([c[i] for c in chunks]) for i in range(len(self._outputs))]
        heads = {
            h.name: activate(np.asarray(r, dtype=np.float32), h.activation)
            for h, r in zip(self.pack.heads, results, strict=True)
        }
        return Prediction(heads=heads, embedding=None)

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]
