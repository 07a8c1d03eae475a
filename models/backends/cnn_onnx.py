"""CPU fast path for CNNs: the pack's torch model exported to ONNX, run by onnxruntime.

On CPUs without AMX, bfloat16 autocast makes convolutions slower and eager PyTorch leaves
fusion gains on the table. onnxruntime's optimised graph (conv+bn+relu fusion, blocked layouts)
is faster in fp32, and its int8 convolutions (VNNI) are about 2.5x faster again. Static int8 needs
calibration data, so the runner calibrates on the first images it is actually given (the user's
own pictures, which is what the ranges should describe): until it has seen ``CALIBRATION``
samples it answers in fp32, then it quantises once (a couple of seconds for a ResNet-18) and
switches. The quantised graph is kept in ``cache_path`` (beside the installed pack, named by
the weights' hash) so later runs start in int8 at once. Any failure along the way keeps the
fp32 graph.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.base import AnimesionModel

CALIBRATION = 64  # samples seen before quantising; enough for min/max ranges of a CNN


class _FeaturesAndLogits(nn.Module):
    """One graph with the embedding and every head's logits as outputs."""

    def __init__(self, model: AnimesionModel, head_names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.head_names = head_names

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = self.model.forward_features(x)  # [N, D]
        logits = self.model.forward_head(features)
        return (features, *(logits[h] for h in self.head_names))


def _session(model_bytes: bytes, threads: int):  # -> ort.InferenceSession
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    # Spinning workers would burn the cores the app's decode threads need between batches.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def quantize_int8(model_bytes: bytes, samples: list[np.ndarray]) -> bytes:
    """Static int8 (QDQ, per-channel weights) calibrated on ``samples`` ([n, 3, S, S] each)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter([{"image": s} for s in samples])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src, prepared, out = (Path(tmp) / n for n in ("m.onnx", "p.onnx", "q.onnx"))
        src.write_bytes(model_bytes)
        quant_pre_process(str(src), str(prepared))
        quantize_static(
            str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
        )
        return out.read_bytes()


class OnnxCnnRunner:
    def __init__(self, model_bytes: bytes, head_names: list[str], threads: int,
                 quantize: bool, cache_path: Path | None = None) -> None:
        self.head_names = head_names
        self._bytes = model_bytes
        self._threads = threads
        self._cache = cache_path
        self._calibration: list[np.ndarray] | None = None
        self.quantized = False
        if quantize and cache_path is not None and cache_path.is_file():
            try:
                self._session = _session(cache_path.read_bytes(), threads)
                self.quantized = True
                return
            except Exception:  # a damaged cache: calibrate again
                pass
        self._session = _session(model_bytes, threads)
        self._calibration = [] if quantize else None

    @classmethod
    def from_cache(cls, cache_path: Path, head_names: list[str], threads: int) -> OnnxCnnRunner:
        """A runner of a calibrated int8 graph kept in ``cache_path`` (it has no fp32 graph to
        calibrate again from: :meth:`int8_copy` returns None)."""
        runner = cls.__new__(cls)
        runner.head_names, runner._bytes, runner._threads = head_names, b"", threads
        runner._cache, runner._calibration = cache_path, None
        runner._session = _session(cache_path.read_bytes(), threads)
        runner.quantized = True
        return runner

    def int8_copy(self, samples: np.ndarray, cache_path: Path | None) -> OnnxCnnRunner | None:
        """An int8 runner calibrated on ``samples`` [n, 3, S, S] (kept in ``cache_path``), or
        None when the quantiser cannot handle this graph."""
        try:
            data = quantize_int8(self._bytes, [samples[i:i + 16]
                                               for i in range(0, len(samples), 16)])
            runner = OnnxCnnRunner(self._bytes, self.head_names, self._threads, quantize=False)
            runner._session = _session(data, self._threads)
            runner.quantized = True
        except Exception:
            return None
        if cache_path is not None:
            _write_atomic(cache_path, data)
        return runner

    def run(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """x: [N, 3, S, S] float32 -> (embedding [N, D], logits per head)."""
        outputs = self._session.run(None, {"image": x})
        if self._calibration is not None:
            self._collect(x)
        return outputs[0], dict(zip(self.head_names, outputs[1:], strict=True))

    def _collect(self, x: np.ndarray) -> None:
        assert self._calibration is not None
        self._calibration.append(x.copy())
        if sum(len(s) for s in self._calibration) < CALIBRATION:
            return
        samples, self._calibration = self._calibration, None
        try:
            quantized = quantize_int8(self._bytes, samples)
            self._session = _session(quantized, self._threads)
            self.quantized = True
        except Exception:  # quantiser gaps on an unusual graph: stay in fp32
            return
        if self._cache is not None:
            _write_atomic(self._cache, quantized)


def _write_atomic(path: Path, data: bytes) -> None:
    try:  # atomic: a crash never leaves half a model behind
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only pack folder: calibrate again next time


def export_cnn(model: AnimesionModel, image_size: int, head_names: list[str], *,
               quantize: bool = True, cache_path: Path | None = None) -> OnnxCnnRunner | None:
    """The model as an onnxruntime runner, or None when export or loading is not possible
    (the caller then keeps the PyTorch path)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    threads = max(torch.get_num_threads(), 1)
    if quantize and cache_path is not None and cache_path.is_file():
        try:  # the calibrated graph is all that runs: no export (seconds for a ResNet-18)
            return OnnxCnnRunner.from_cache(cache_path, head_names, threads)
        except Exception:  # a damaged cache: export and calibrate again
            pass
    wrapper = _FeaturesAndLogits(model, head_names).eval()
    example = torch.zeros(2, 3, image_size, image_size)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The TorchScript exporter (dynamo=False) writes to file objects too; the
            # signature only declares paths.
            torch.onnx.export(
                wrapper, (example,), buffer,  # type: ignore[arg-type]
                dynamo=False, opset_version=17,
                input_names=["image"], output_names=["features", *head_names],
                dynamic_axes={"image": {0: "n"}},
            )
        return OnnxCnnRunner(buffer.getvalue(), head_names, threads, quantize, cache_path)
    except Exception:  # any exporter or runtime gap: fall back, never fail the pack
        return None
