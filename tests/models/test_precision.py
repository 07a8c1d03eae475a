"""Precision policy: ``auto`` keeps a fast path only after it agreed with fp32."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from precision_kit import blob_images

from models.backends import open_predictor
from models.pack import write_pack
from models.precision import (
    AgreementGate,
    measure,
    predictor_status,
    read_record,
    status_text,
)
from models.registry import create_model
from models.spec import InputSpec

needs_int8 = pytest.mark.skipif(torch.backends.quantized.engine == "none",
                                reason="no quantized engine on this platform")
IFA_VIT = dict(hidden_size=64, num_layers=4, num_attention_heads=2, mlp_dim=128, patch_size=8)


def _ifa_vit_pack(tmp_path, kit, name: str, *, sharpen: float = 1.0, dominant: bool = False):
    torch.manual_seed(0)
    model = create_model("vit_b16", heads={"character": 10}, image_size=32, ifa=True, **IFA_VIT)
    with torch.no_grad():
        fc = model.head.heads["character"]
        if dominant:  # one class wins by far on every image: int8 noise cannot change answers
            fc.weight.mul_(0.01)
            fc.bias.zero_()
            fc.bias[3] = 8.0
        fc.weight.mul_(sharpen)  # a sharp head turns small feature errors into other answers
    return write_pack(tmp_path / name, name=name, backend="torch",
                      heads=kit.heads_for({"character": 10}), input_spec=InputSpec(size=32),
                      model=model)


def _feed(predictor, images: np.ndarray, batch: int = 16) -> np.ndarray:
    return np.concatenate([predictor.predict(images[i:i + batch]).heads["character"]
                           for i in range(0, len(images), batch)])


@needs_int8
def test_auto_falls_back_to_fp32_when_int8_disagrees(tmp_path, kit) -> None:
    pack = _ifa_vit_pack(tmp_path, kit, "sharp", sharpen=60.0)
    cache = tmp_path / "cache"
    images = blob_images(96)
    exact = _feed(open_predictor(pack, device="cpu", precision="fp32"), images)
    forced = _feed(open_predictor(pack, device="cpu", precision="int8"), images)
    assert np.abs(forced - exact).max() > 0.02  # the premise: int8 changes this model's answers

    auto = open_predictor(pack, device="cpu", precision="auto", cache_dir=cache)
    assert auto.precision == "checking"
    answers = _feed(auto, images)
    assert auto.precision == "fp32"
    assert [a["precision"] for a in auto.agreement] == ["int8", "int8-partial"]
    assert not any(a["passed"] for a in auto.agreement)
    assert auto.agreement[0]["max_score_diff"] > 0.02
    np.testing.assert_allclose(answers, exact, atol=1e-5)  # every answer was fp32's
    assert predictor_status(auto) == "CPU · fp32"

    # the decision is kept beside the pack: the next run starts in fp32 without checking
    (record_file,) = cache.glob("sharp-*-precision.json")
    record = read_record(record_file)
    assert record is not None and record["precision"] == "fp32" and record["device"] == "cpu"
    again = open_predictor(pack, device="cpu", precision="auto", cache_dir=cache)
    assert again.precision == "fp32" and again.agreement == auto.agreement


@needs_int8
def test_auto_keeps_int8_when_it_agrees(tmp_path, kit) -> None:
    pack = _ifa_vit_pack(tmp_path, kit, "calm", dominant=True)
    cache = tmp_path / "cache"
    auto = open_predictor(pack, device="cpu", precision="auto", cache_dir=cache)
    images = blob_images(80)
    _feed(auto, images)
    assert auto.precision == "int8"
    assert auto.agreement[0]["passed"] and auto.agreement[0]["images"] == 64
    assert "int8" in auto.device_description and predictor_status(auto) == "CPU · int8"
    exact = _feed(open_predictor(pack, device="cpu", precision="fp32"), images)
    fast = _feed(auto, images)  # now answered by the int8 model
    assert not np.array_equal(fast, exact) and np.abs(fast - exact).max() <= 0.02
    again = open_predictor(pack, device="cpu", precision="auto", cache_dir=cache)
    assert again.precision == "int8"


def test_a_short_run_decides_nothing(tmp_path, kit) -> None:
    pack = _ifa_vit_pack(tmp_path, kit, "short", dominant=True)
    auto = open_predictor(pack, device="cpu", precision="auto", cache_dir=tmp_path / "c")
    _feed(auto, blob_images(8))
    auto.finish_check()
    assert auto.precision == "checking" and not list((tmp_path / "c").glob("*precision.json"))


def test_cnn_auto_keeps_onnx_int8_that_agrees(tmp_path, kit) -> None:
    torch.manual_seed(0)
    model = create_model("shallow", heads={"character": 5}, image_size=32)
    with torch.no_grad():
        fc = model.head.heads["character"]
        fc.weight.mul_(0.01)
        fc.bias.zero_()
        fc.bias[1] = 8.0
    pack = write_pack(tmp_path / "cnn", name="cnn", backend="torch",
                      heads=kit.heads_for({"character": 5}), input_spec=InputSpec(size=32),
                      model=model)
    auto = open_predictor(pack, device="cpu", precision="auto", cache_dir=tmp_path / "cache")
    if "onnxruntime" not in auto.device_description:
        pytest.skip("onnxruntime cannot run this model here")
    _feed(auto, blob_images(64))
    assert auto.agreement and auto.agreement[0]["precision"] == "int8"
    assert auto.precision == ("int8" if auto.agreement[0]["passed"] else "fp32")
    assert auto.precision == "int8"
    assert list((tmp_path / "cache").glob("cnn-*-int8.onnx"))
    again = open_predictor(pack, device="cpu", precision="auto", cache_dir=tmp_path / "cache")
    assert again.precision == "int8"


def test_measure_and_gate_choose_the_first_candidate_that_agrees() -> None:
    ref = {"character": np.array([[0.9, 0.1], [0.2, 0.8]]), "general": np.array([[0.5], [0.5]])}
    close = {"character": np.array([[0.89, 0.11], [0.21, 0.79]]),
             "general": np.array([[0.51], [0.5]])}
    acts = {"character": "softmax", "general": "sigmoid"}
    a = measure("int8", ref, close, acts)
    assert a.passed and a.top1_agreement == 1.0 and a.max_score_diff == pytest.approx(0.01)
    flipped = {**close, "character": np.array([[0.4, 0.6], [0.2, 0.8]])}
    b = measure("int8", ref, flipped, acts)
    assert not b.passed and b.top1_agreement == 0.5

    def runner(value: float):
        return lambda x: (None, {"character": np.tile([value, 1 - value], (len(x), 1))})

    gate = AgreementGate(runner(0.7), [("int8", lambda s: runner(0.2)),
                                       ("missing", lambda s: None),
                                       ("int8-partial", lambda s: runner(0.69))],
                         {"character": "softmax"}, window=20)
    for _ in range(2):
        assert gate(np.zeros((10, 1)))[1]["character"][0, 0] == 0.7  # fp32 while checking
    assert gate.precision == "int8-partial"
    assert [c["precision"] for c in gate.checked] == ["int8", "missing", "int8-partial"]
    assert gate(np.zeros((1, 1)))[1]["character"][0, 0] == 0.69


def test_status_text() -> None:
    assert status_text("cpu", "int8") == "CPU · int8"
    assert status_text("cuda", "fp32") == "CUDA · fp32"
    assert status_text("cpu", "checking") == "CPU · fp32 (checking int8)"
    assert status_text("cuda", "checking") == "CUDA · fp32 (checking autocast)"
    assert status_text("cuda", "bf16", "RTX 4090") == "CUDA · RTX 4090 · bf16"


def test_unknown_precision_is_refused(tmp_path, kit) -> None:
    pack = _ifa_vit_pack(tmp_path, kit, "p")
    with pytest.raises(ValueError,
                       match=r"precision: expected one of auto, fp32, int8, bf16, fp16, got 'fp8'"):
        open_predictor(pack, device="cpu", precision="fp8")


def test_a_nan_score_fails_the_check() -> None:
    """fp16 overflow gives NaN scores; NaN compares false, so it must not read as agreement."""
    ref = {"general": np.array([[0.5, 0.2], [0.4, 0.9]])}
    nan = {"general": np.array([[0.5, np.nan], [0.4, 0.9]])}
    a = measure("fp16", ref, nan, {"general": "sigmoid"})
    assert not a.passed and a.max_score_diff == 1.0
    assert a.to_dict()["max_score_diff"] == 1.0  # plain JSON in the record
