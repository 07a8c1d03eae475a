"""Running a model pack: ``open_predictor(pack) -> Predictor`` for the torch, onnx and hf
backends."""

from __future__ import annotations

import tempfile
import weakref
from pathlib import Path

from models.backends.base import Prediction, Predictor, activate
from models.pack import ModelPack, load_pack
from models.safezip import pack_root, safe_extract

__all__ = ["Prediction", "Predictor", "activate", "open_predictor"]


def open_predictor(
    pack: ModelPack | str | Path,
    device: str | None = None,
    optimize: bool = True,
    cache_dir: Path | None = None,
) -> Predictor:
    """Load ``pack`` (a ModelPack, or a pack folder/.zip path) on ``device`` (None = auto).

    ``optimize`` enables the CPU fast paths (int8 for ViTs, onnxruntime int8 for CNNs) and
    onnxruntime's full graph optimisation. ``cache_dir`` keeps artifacts a fast path derives
    from the pack (a CNN's calibrated int8 graph) across runs; None keeps nothing. A .zip pack is extracted to a temporary folder that
    lives as long as the predictor.
    """
    if not isinstance(pack, ModelPack):
        pack = load_pack(pack)
    tmp = None
    if pack.is_archive:
        tmp = tempfile.TemporaryDirectory(prefix="animesion-pack-")
        safe_extract(pack.path, Path(tmp.name))
        pack = load_pack(pack_root(Path(tmp.name)))
    predictor: Predictor
    if pack.backend == "torch":
        from models.backends.torch_backend import TorchPredictor

        predictor = TorchPredictor(pack, device, optimize, cache_dir)
    elif pack.backend == "onnx":
        from models.backends.onnx_backend import OnnxPredictor

        predictor = OnnxPredictor(pack, device, optimize)
    else:
        from models.backends.hf_backend import HFPredictor

        predictor = HFPredictor(pack, device, optimize)
    if tmp is not None:
        weakref.finalize(predictor, tmp.cleanup)
    return predictor
