"""Torch backend: our AnimesionModel from weights.safetensors, at a chosen precision.

``precision`` (models.precision): ``fp32`` runs the eager model as trained; ``auto`` (the
default) starts in fp32 and moves to a fast path only once that path has agreed with fp32 on
the first images; ``int8``, ``bf16`` and ``fp16`` are taken as asked (int8 on the CPU only,
fp16 on CUDA only; elsewhere fp32 with a warning). The CPU fast paths: ViTs get int8 dynamic
quantization of the encoder's Linear layers (the heads and the IFA pooling stay fp32; the
milder candidate quantizes only the first half of the blocks); CNNs are exported to ONNX and
run by onnxruntime (fp32, or int8 calibrated on the first images, cnn_onnx.py). On CUDA the
fast paths are fp16 autocast, then bf16 autocast where the GPU has it (autocast.py).
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from models.backends.autocast import AUTOCAST_DTYPES, autocast_paths, autocast_runner
from models.backends.base import Prediction, Predictor, activate
from models.backends.cnn_onnx import CALIBRATION, OnnxCnnRunner, export_cnn
from models.backends.feeding import (
    choose_batch_size,
    jpeg_decoder_available,
    jpeg_samples,
    stack_samples,
)
from models.base import AnimesionModel
from models.device import cpu_supports_bf16, select_device
from models.pack import ModelPack
from models.pack_checks import TORCH_WEIGHTS
from models.precision import (
    CHECK_IMAGES,
    LABELS,
    AgreementGate,
    CandidateBuilder,
    Output,
    Runner,
    check_precision,
    file_digest,
    read_record,
    record_path,
    write_record,
)
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


def int8_cache_path(pack: ModelPack, cache_dir: Path | None,
                    digest: str | None = None) -> Path | None:
    """Where the calibrated int8 graph of a CNN pack is kept, named by its weights' hash so a
    replaced pack never meets a stale graph."""
    if cache_dir is None:
        return None
    digest = digest or file_digest(pack.file(TORCH_WEIGHTS))
    return cache_dir / f"{pack.name}-{digest[:20]}-int8.onnx"


def precision_record_path(pack: ModelPack, cache_dir: Path | None,
                          digest: str | None = None) -> Path | None:
    """Where ``auto``'s decision for this pack (and its measurements) is kept."""
    if cache_dir is None or pack.backend != "torch":
        return None
    return record_path(cache_dir, pack.name, digest or file_digest(pack.file(TORCH_WEIGHTS)))


def quantize_vit_blocks(model: AnimesionModel, fraction: float) -> bool:
    """int8 for the Linear layers of the first ``fraction`` of a ViT's blocks only."""
    layers = _vit_layers(model)
    if layers is None:
        return False
    keep = max(1, int(len(layers) * fraction))
    return all(quantize_linear_int8(layer) for layer in list(layers)[:keep])


def _vit_layers(model: AnimesionModel) -> nn.ModuleList | None:
    backbone = getattr(model, "backbone", None)
    for path in (("encoder", "layer"), ("layers",)):  # transformers 4.x / 5.x
        node: Any = backbone
        for name in path:
            node = getattr(node, name, None)
        if isinstance(node, nn.ModuleList):
            return node
    return None


class TorchPredictor(Predictor):
    def __init__(self, pack: ModelPack, device: str | None = None, optimize: bool = True,
                 cache_dir: Path | None = None, precision: str | None = None) -> None:
        self.pack = pack
        asked = check_precision(precision if precision is not None
                                else ("auto" if optimize else "fp32"))
        choice = select_device(device)
        self.device = choice.torch_device
        self.warnings = list(choice.warnings)
        self._base = choice.description
        self.model = load_pack_model(pack).to(self.device)
        self._activations = {h.name: h.activation for h in pack.heads}
        self._digest = (file_digest(pack.file(TORCH_WEIGHTS))
                        if cache_dir is not None else None)
        self._cache_dir = cache_dir
        self._gate: AgreementGate | None = None
        self._onnx: OnnxCnnRunner | None = None
        self.agreement: list[dict[str, Any]] | None = None  # what auto measured, when it did
        self.asked = asked
        # CUDA: the batch that fits the free memory (the model's measured footprint); the CPU
        # keeps its default. JPEGs are decoded on a CUDA device (nvJPEG) when torchvision can.
        self.batch_size = choose_batch_size(self._footprint_run, self.device,
                                            DEFAULT_BATCH.get(self.device.type, 8))
        self.jpeg_device: torch.device | None = (
            self.device if self.device.type == "cuda" and jpeg_decoder_available() else None)
        self._notes: list[str] = []
        kind = self.device.type
        if asked == "int8" and kind != "cpu":
            self.warnings.append("int8 is a CPU path; running in fp32 on this device")
            self._runner, self._precision = self._eager(), "fp32"
        elif asked == "fp16" and kind != "cuda":
            self.warnings.append("fp16 is a CUDA path (autocast); running in fp32 on this "
                                 "device")
            self._runner, self._precision = self._eager(), "fp32"
        elif asked == "fp32" or (asked == "auto" and kind not in ("cpu", "cuda")):
            self._runner, self._precision = self._eager(), "fp32"  # MPS: nothing checked yet
        elif asked in AUTOCAST_DTYPES:
            if asked == "bf16" and kind == "cpu" and not cpu_supports_bf16():
                self.warnings.append("this CPU has no native bfloat16: bf16 is emulated and "
                                     "slower than fp32")
            self._runner, self._precision = self._autocast(asked), asked
        elif asked == "int8":
            self._runner, self._precision = self._int8_explicit()
        else:
            self._runner, self._precision = self._auto()

    def _footprint_run(self, n: int) -> None:
        size = self.pack.input.size
        x = torch.zeros(n, 3, size, size, device=self.device)
        with torch.inference_mode():
            self.model.forward_head(self.model.forward_features(x))

    # -- runners: [N, 3, S, S] float32 -> (embedding, probabilities per head) --------------

    def _activate(self, logits: dict[str, Any]) -> dict[str, np.ndarray]:
        return {h.name: activate(np.asarray(logits[h.name], dtype=np.float32), h.activation)
                for h in self.pack.heads}

    def _eager(self, model: AnimesionModel | None = None) -> Runner:
        return autocast_runner(model if model is not None else self.model, self.device,
                               self._activate)

    def _autocast(self, name: str) -> Runner:
        """The model under autocast in ``name`` (fp16 or bf16) on its own device."""
        return autocast_runner(self.model, self.device, self._activate,
                               dtype=AUTOCAST_DTYPES[name],
                               channels_last=self.model.family != "vit")

    def _onnx_runner(self, runner: OnnxCnnRunner) -> Runner:
        def run(batch: np.ndarray) -> Output:
            embedding, raw = runner.run(np.ascontiguousarray(batch, dtype=np.float32))
            return embedding, self._activate(raw)

        return run

    def _vit_int8(self, fraction: float = 1.0) -> Runner | None:
        quantized = copy.deepcopy(self.model)
        ok = (quantize_linear_int8(quantized.backbone) if fraction >= 1.0  # type: ignore[arg-type]
              else quantize_vit_blocks(quantized, fraction))
        return self._eager(quantized) if ok else None

    def _export(self, quantize: bool) -> OnnxCnnRunner | None:
        return export_cnn(self.model, self.pack.input.size, [h.name for h in self.pack.heads],
                          quantize=quantize,
                          cache_path=int8_cache_path(self.pack, self._cache_dir, self._digest))

    def _int8_explicit(self) -> tuple[Runner, str]:
        if self.model.family == "vit":
            runner = self._vit_int8()
            if runner is not None:
                self._notes.append("int8 dynamic quantization")
                return runner, "int8"
        else:
            self._onnx = self._export(quantize=True)
            if self._onnx is not None:
                self._notes.append(f"onnxruntime · int8 after calibrating on {CALIBRATION} images")
                return self._onnx_runner(self._onnx), "int8"
        self.warnings.append("int8 is not available on this platform; running in fp32")
        return self._eager(), "fp32"

    # -- auto ----------------------------------------------------------------------------

    def _record_path(self) -> Path | None:
        return precision_record_path(self.pack, self._cache_dir, self._digest)

    def _auto(self) -> tuple[Runner, str]:
        """The recorded decision for this pack, else an AgreementGate over the candidates."""
        record = read_record(self._record_path())
        if record is not None and record.get("device") != self.device.type:
            record = None  # decided on another device: check again here
        # onnxruntime runs CNNs here on the CPU only; on CUDA the eager model is the reference
        onnx = self.model.family != "vit" and self.device.type == "cpu"
        if record is not None:
            chosen = str(record["precision"])
            # A recorded fast path starts at once: no fp32 graph is exported for it (that
            # export costs seconds, paid on every Add folder or watcher flush otherwise).
            fast = None if chosen == "fp32" else self._build_recorded(chosen)
            if fast is not None:
                self.agreement = list(record.get("checked") or [])
                if onnx and chosen not in AUTOCAST_DTYPES:
                    self._notes.append("onnxruntime")
                return fast, chosen
        reference: Runner = self._eager()
        fp32_onnx: OnnxCnnRunner | None = None
        if onnx:
            # onnxruntime's fp32 graph computes what the eager model does (to ~1e-6), faster.
            fp32_onnx = export_cnn(self.model, self.pack.input.size,
                                   [h.name for h in self.pack.heads], quantize=False)
            if fp32_onnx is not None:
                reference = self._onnx_runner(fp32_onnx)
                self._notes.append("onnxruntime")
        if record is not None and record["precision"] == "fp32":
            self.agreement = list(record.get("checked") or [])
            return reference, "fp32"
        candidates = self._candidates(fp32_onnx)
        if not candidates:
            return reference, "fp32"
        self._gate = AgreementGate(reference, candidates, self._activations,
                                   window=CHECK_IMAGES, on_decided=self._decided)
        return self._gate, "checking"

    def _candidates(self, fp32_onnx: OnnxCnnRunner | None) -> list[tuple[str, CandidateBuilder]]:
        """What auto checks, in order: the device's autocast paths (CUDA: fp16, then bf16),
        then, on the CPU, int8 (a ViT's Linear layers, or a CNN's calibrated ONNX graph)."""
        candidates = [(name, self._autocast_candidate(name))
                      for name in autocast_paths(self.device.type)]
        if self.device.type != "cpu":
            return candidates  # int8 dynamic quantization and onnxruntime are CPU paths
        if self.model.family != "vit":
            if fp32_onnx is not None:
                candidates.append(("int8", self._cnn_int8_candidate(fp32_onnx)))
        else:
            candidates += [("int8", lambda samples: self._vit_int8()),
                           ("int8-partial", lambda samples: self._vit_int8(0.5))]
        return candidates

    def _autocast_candidate(self, name: str) -> CandidateBuilder:
        return lambda samples: self._autocast(name)  # nothing to calibrate

    def _cnn_int8_candidate(self, fp32: OnnxCnnRunner | None) -> CandidateBuilder:
        def build(samples: np.ndarray) -> Runner | None:
            if fp32 is None:
                return None
            quantized = fp32.int8_copy(samples, int8_cache_path(self.pack, self._cache_dir,
                                                                self._digest))
            return None if quantized is None else self._onnx_runner(quantized)

        return build

    def _build_recorded(self, chosen: str) -> Runner | None:
        """The fast path a record names, or None when it cannot be rebuilt (check again)."""
        if chosen in AUTOCAST_DTYPES:
            return self._autocast(chosen)
        if self.model.family == "vit":
            return self._vit_int8(1.0 if chosen == "int8" else 0.5)
        cached = int8_cache_path(self.pack, self._cache_dir, self._digest)
        if chosen == "int8" and cached is not None and cached.is_file():
            runner = self._export(quantize=True)
            if runner is not None and runner.quantized:
                return self._onnx_runner(runner)
        return None  # the graph is gone: check again

    def _decided(self, chosen: str, checked: list[dict[str, Any]]) -> None:
        self._precision = chosen
        self.agreement = checked
        path = self._record_path()
        if path is not None:
            write_record(path, chosen=chosen, device=self.device.type, checked=checked)

    # -- the Predictor interface ----------------------------------------------------------

    @property
    def precision(self) -> str:
        """The path answering now: fp32, int8, int8-partial, bf16, fp16, or "checking" (auto
        is still comparing, and answers in fp32 meanwhile)."""
        return self._gate.precision if self._gate is not None else self._precision

    @property
    def device_description(self) -> str:  # type: ignore[override]
        return " · ".join([self._base, *self._notes, LABELS.get(self.precision, self.precision)])

    def finish_check(self) -> None:
        """End of a run shorter than the check window: decide on the images it had."""
        if self._gate is not None and not self._gate.decided:
            self._gate.decide()

    def jpeg_samples(self, datas: list[bytes]) -> list[torch.Tensor | str]:
        """JPEG files decoded and preprocessed on ``jpeg_device`` (nvJPEG on CUDA), one sample
        or one error line each; the caller decodes the failures on the CPU path."""
        device = self.jpeg_device if self.jpeg_device is not None else self.device
        return jpeg_samples(datas, self.pack.input, device)

    def stack(self, samples: list[Any]) -> np.ndarray | torch.Tensor:
        """A batch of host samples (numpy) and device samples (from :meth:`jpeg_samples`)."""
        return stack_samples(samples, self.device)

    def predict(self, batch: np.ndarray | torch.Tensor) -> Prediction:
        if isinstance(batch, torch.Tensor):
            x: Any = batch.float()
            checking = self._gate is not None and not self._gate.decided
            if self.device.type == "cpu" or checking:
                # the CPU runners (onnxruntime) take numpy, and the precision gate keeps host
                # copies of the images it checks (on CUDA: the first 64 nvJPEG samples only)
                x = x.cpu().numpy()
        else:
            x = np.asarray(batch, dtype=np.float32)
        if self.pack.input.layout == "NHWC":
            # [N,S,S,3] -> [N,3,S,S]: torch models are NCHW
            x = x.transpose(0, 3, 1, 2) if isinstance(x, np.ndarray) else x.permute(0, 3, 1, 2)
        embedding, heads = self._runner(x)
        return Prediction(heads=heads, embedding=embedding)

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
        self._runner = None  # type: ignore[assignment]
        self._gate = None
        self._onnx = None
