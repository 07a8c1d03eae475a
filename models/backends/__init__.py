"""Running a model pack: ``open_predictor(pack) -> Predictor`` for the torch, onnx and hf
backends."""

from __future__ import annotations

import tempfile
import weakref
from pathlib import Path

from models.backends.base import Prediction, Predictor, activate
from models.pack import ModelPack, load_pack
from models.precision import check_precision
from models.safezip import pack_root, safe_extract

__all__ = ["Prediction", "Predictor", "activate", "open_predictor"]


def open_predictor(
    pack: ModelPack | str | Path,
    device: str | None = None,
    optimize: bool = True,
    cache_dir: Path | None = None,
    precision: str | None = None,
) -> Predictor:
    """Load ``pack`` (a ModelPack, or a pack folder/.zip path) on ``device`` (None = auto).

    ``precision`` is auto, fp32, int8, bf16 or fp16 (models.precision; None: ``auto`` when
    ``optimize``, else fp32). ``auto`` uses a fast path (on the CPU int8 for ViTs, onnxruntime
    int8 for CNNs; on CUDA fp16, then bf16, autocast) only once it has agreed with fp32 on the
    first images; multimodal (ViLT) packs run
    in fp32 (``vilt_backend``); Hugging Face packs stay fp32
    unless int8 is asked for; ``optimize`` also enables onnxruntime's graph optimisation. ``cache_dir`` keeps artifacts a fast path derives
    from the pack (a CNN's calibrated int8 graph) across runs; None keeps nothing. A .zip pack is extracted to a temporary folder that
    lives as long as the predictor.
    """
    precision = check_precision(precision if precision is not None
                                else ("auto" if optimize else "fp32"))
    if not isinstance(pack, ModelPack):
        pack = load_pack(pack)
    tmp = None
    if pack.is_archive:
        tmp = tempfile.TemporaryDirectory(prefix="animesion-pack-")
        safe_extract(pack.path, Path(tmp.name))
        pack = load_pack(pack_root(Path(tmp.name)))
    predictor: Predictor
    if pack.backend == "torch" and pack.multimodal is not None:
        from models.backends.vilt_backend import ViltPredictor

        predictor = ViltPredictor(pack, device, precision)
    elif pack.backend == "torch":
        from models.backends.torch_backend import TorchPredictor

        predictor = TorchPredictor(pack, device, cache_dir=cache_dir, precision=precision)
    elif pack.backend == "onnx":
        from models.backends.onnx_backend import OnnxPredictor

        predictor = OnnxPredictor(pack, device, precision != "fp32")
    else:
        from models.backends.hf_backend import HFPredictor

        predictor = HFPredictor(pack, device, precision == "int8")
    if tmp is not None:
        weakref.finalize(predictor, tmp.cleanup)
    return predictor
