"""Predictors: CPU fast paths agree with fp32, descriptions say what was chosen."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.backends import open_predictor
from models.backends.onnx_backend import choose_providers
from models.device import DeviceError
from models.pack import write_pack
from models.registry import create_model
from models.spec import InputSpec


def _pack(tmp_path, kit, name: str, model, size: int):
    heads = kit.heads_for(dict(model.config.heads))
    return write_pack(
        tmp_path / name,
        name=name,
        backend="torch",
        heads=heads,
        input_spec=InputSpec(size=size),
        model=model,
    )


def _agreement(pack, batch: np.ndarray, head: str, precision: str = "auto") -> tuple[float, str]:
    fast = open_predictor(pack, device="cpu", precision=precision)
    exact = open_predictor(pack, device="cpu", optimize=False)
    a, b = fast.predict(batch).heads[head], exact.predict(batch).heads[head]
    assert a.shape == b.shape and np.isfinite(a).all()
    assert "fp32" in exact.device_description
    return float((a.argmax(1) == b.argmax(1)).mean()), fast.device_description


def test_vit_int8_fast_path_agrees_with_fp32(tmp_path, kit) -> None:
    torch.manual_seed(0)
    model = create_model(
        "vit_b16", heads={"character": 10, "general": 6}, image_size=32, ifa=True, **kit.TINY_VIT
    )
    pack = _pack(tmp_path, kit, "vit", model, 32)
    batch = np.random.default_rng(0).normal(size=(32, 3, 32, 32)).astype(np.float32)
    agreement, description = _agreement(pack, batch, "character", precision="int8")
    if torch.backends.quantized.engine != "none":
        assert "int8 dynamic quantization" in description
    assert agreement >= 0.9


def test_cnn_fast_path_agrees_with_fp32(tmp_path, kit) -> None:
    torch.manual_seed(0)
    model = create_model("resnet18", heads={"character": 10}, image_size=64)
    pack = _pack(tmp_path, kit, "cnn", model, 64)
    batch = np.random.default_rng(1).normal(size=(16, 3, 64, 64)).astype(np.float32)
    agreement, description = _agreement(pack, batch, "character")
    assert "onnxruntime" in description
    assert agreement >= 0.99  # fewer samples than the calibration needs: still fp32
    fast = open_predictor(pack, device="cpu", optimize=True)
    plain = open_predictor(pack, device="cpu", optimize=False)
    a, b = fast.predict(batch), plain.predict(batch)
    np.testing.assert_allclose(a.heads["character"], b.heads["character"], atol=1e-4)
    np.testing.assert_allclose(a.embedding, b.embedding, atol=1e-3)


def test_cnn_switches_to_int8_after_calibration_and_keeps_its_ranking(tmp_path, kit) -> None:
    from models.backends.cnn_onnx import CALIBRATION

    torch.manual_seed(0)
    model = create_model("resnet18", heads={"character": 10}, image_size=64)
    pack = _pack(tmp_path, kit, "cnn8", model, 64)
    cache = tmp_path / "cache"
    fast = open_predictor(pack, device="cpu", precision="int8", cache_dir=cache)
    plain = open_predictor(pack, device="cpu", precision="fp32")
    rng = np.random.default_rng(3)
    # Structured inputs (a few colour blobs), not white noise: closer to what calibration sees.
    def batch(n: int) -> np.ndarray:
        base = rng.normal(size=(n, 3, 8, 8)).astype(np.float32)
        return np.repeat(np.repeat(base, 8, axis=2), 8, axis=3)

    for _ in range(CALIBRATION // 16):
        fast.predict(batch(16))
    assert fast._onnx is not None and fast._onnx.quantized
    test = batch(64)
    a, b = fast.predict(test), plain.predict(test)
    agreement = (a.heads["character"].argmax(1) == b.heads["character"].argmax(1)).mean()
    assert agreement >= 0.8
    assert a.embedding.shape == b.embedding.shape
    # the calibrated graph is cached beside the pack: a new predictor starts in int8
    assert len(list(cache.glob("*-int8.onnx"))) == 1
    again = open_predictor(pack, device="cpu", precision="int8", cache_dir=cache)
    assert again._onnx is not None and again._onnx.quantized
    np.testing.assert_allclose(again.predict(test).heads["character"], a.heads["character"],
                               atol=1e-5)


def test_cnn_without_onnx_export_runs_fp32(tmp_path, kit, monkeypatch) -> None:
    import models.backends.torch_backend as tb

    monkeypatch.setattr(tb, "export_cnn", lambda *a, **k: None)
    torch.manual_seed(0)
    model = create_model("resnet18", heads={"character": 10}, image_size=64)
    pack = _pack(tmp_path, kit, "cnn", model, 64)
    batch = np.random.default_rng(1).normal(size=(16, 3, 64, 64)).astype(np.float32)
    agreement, description = _agreement(pack, batch, "character")
    assert description.endswith("fp32") and agreement == 1.0
    forced = open_predictor(pack, device="cpu", precision="int8")
    assert forced.precision == "fp32" and any("int8" in w for w in forced.warnings)
    bf16 = open_predictor(pack, device="cpu", precision="bf16")
    assert bf16.precision == "bf16" and "bf16" in bf16.device_description
    assert bf16.predict(batch).heads["character"].shape == (16, 10)


def test_torch_predictor_embedding_and_batch_size(tmp_path, kit) -> None:
    model = create_model("shallow", heads={"character": 4, "rating": 3}, image_size=32)
    pack = _pack(tmp_path, kit, "shallow", model, 32)
    predictor = open_predictor(pack, device="cpu")
    assert predictor.batch_size >= 1
    out = predictor.predict(np.zeros((2, 3, 32, 32), dtype=np.float32))
    assert out.embedding.shape == (2, 512)
    np.testing.assert_allclose(out.heads["rating"].sum(1), 1.0, rtol=1e-5)


def test_unavailable_device_is_refused(tmp_path, kit) -> None:
    model = create_model("shallow", heads={"character": 2}, image_size=32)
    pack = _pack(tmp_path, kit, "dev", model, 32)
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError):
            open_predictor(pack, device="cuda")


def test_onnx_provider_choice() -> None:
    cpu_only = ["CPUExecutionProvider"]
    assert choose_providers(None, cpu_only) == ["CPUExecutionProvider"]
    assert choose_providers("cpu", ["CUDAExecutionProvider", *cpu_only]) == cpu_only
    assert choose_providers(None, ["DmlExecutionProvider", *cpu_only])[0] == "DmlExecutionProvider"
    assert choose_providers("cuda:1", ["CUDAExecutionProvider", *cpu_only])[0] == (
        "CUDAExecutionProvider",
        {"device_id": 1},
    )
    with pytest.raises(DeviceError, match="not available to onnxruntime"):
        choose_providers("cuda", cpu_only)
    with pytest.raises(DeviceError, match="unknown device"):
        choose_providers("tpu", cpu_only)
