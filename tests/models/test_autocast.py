"""Autocast fast paths (CUDA's, under ``auto``) run through the same agreement check as int8.

There is no GPU here: the checks run the very runner CUDA uses with ``device_type="cpu"`` and
bf16 (``autocast_paths`` is told to offer bf16 on the CPU), and the CUDA candidate list is read
from a predictor whose device is set to an (unused) CUDA device.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from precision_kit import blob_images

import models.backends.torch_backend as tb
from models.backends import open_predictor
from models.backends.autocast import autocast_paths, autocast_runner
from models.pack import write_pack
from models.precision import LABELS, predictor_status, read_record, write_record
from models.registry import create_model
from models.spec import InputSpec

IFA_VIT = dict(hidden_size=64, num_layers=4, num_attention_heads=2, mlp_dim=128, patch_size=8)


def _vit_pack(tmp_path, kit, name: str, sharpen: float = 1.0):
    torch.manual_seed(0)
    model = create_model("vit_b16", heads={"character": 10}, image_size=32, ifa=True, **IFA_VIT)
    with torch.no_grad():
        model.head.heads["character"].weight.mul_(sharpen)  # sharp: bf16 rounding shows
    return write_pack(tmp_path / name, name=name, backend="torch",
                      heads=kit.heads_for({"character": 10}), input_spec=InputSpec(size=32),
                      model=model)


def _cnn_pack(tmp_path, kit, name: str = "cnn"):
    torch.manual_seed(0)
    model = create_model("shallow", heads={"character": 5}, image_size=32)
    return write_pack(tmp_path / name, name=name, backend="torch",
                      heads=kit.heads_for({"character": 5}), input_spec=InputSpec(size=32),
                      model=model)


def _feed(predictor, images: np.ndarray, batch: int = 16) -> np.ndarray:
    return np.concatenate([predictor.predict(images[i:i + batch]).heads["character"]
                           for i in range(0, len(images), batch)])


@pytest.fixture
def cpu_bf16_offered(monkeypatch) -> None:
    """auto offers bf16 autocast on the CPU, as it offers fp16/bf16 on CUDA."""
    monkeypatch.setattr(tb, "autocast_paths",
                        lambda device_type: ["bf16"] if device_type == "cpu" else [])


def test_autocast_runner_computes_in_the_dtype_it_is_given() -> None:
    torch.manual_seed(0)
    model = create_model("vit_b16", heads={"character": 10}, image_size=32, ifa=True,
                         **IFA_VIT).eval()
    seen: list[torch.dtype] = []
    model.head.heads["character"].register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    identity = dict  # probabilities are not the point here: the logits are
    x = blob_images(4)
    emb32, fp32 = autocast_runner(model, torch.device("cpu"), identity)(x)
    emb16, bf16 = autocast_runner(model, torch.device("cpu"), identity, dtype=torch.bfloat16)(x)
    assert seen == [torch.float32, torch.bfloat16]
    # handed back as float32 numpy, close to fp32 but rounded
    assert bf16["character"].dtype == np.float32 and emb16.dtype == np.float32
    assert 0 < np.abs(bf16["character"] - fp32["character"]).max() < 0.5


def test_auto_keeps_an_autocast_path_that_agrees(tmp_path, kit, cpu_bf16_offered) -> None:
    pack = _vit_pack(tmp_path, kit, "calm")
    cache = tmp_path / "cache"
    images = blob_images(96)
    exact = _feed(open_predictor(pack, device="cpu", precision="fp32"), images)

    auto = open_predictor(pack, device="cpu", precision="auto", cache_dir=cache)
    assert auto.precision == "checking"
    first = _feed(auto, images[:64])
    np.testing.assert_allclose(first, exact[:64], atol=1e-5)  # fp32 answered while checking
    assert auto.precision == "bf16"
    (checked,) = auto.agreement  # the first candidate agreed: int8 was not tried
    assert checked["precision"] == "bf16" and checked["passed"] and checked["images"] == 64
    assert checked["top1_agreement"] >= 0.99 and 0 < checked["max_score_diff"] <= 0.02
    fast = _feed(auto, images[64:])  # now bf16 answers: close to fp32, not equal
    assert not np.allclose(fast, exact[64:], atol=1e-5)
    assert np.abs(fast - exact[64:]).max() <= 0.02
    assert LABELS["bf16"] in auto.device_description and predictor_status(auto) == "CPU · bf16"

    (record_file,) = cache.glob("calm-*-precision.json")
    record = read_record(record_file)
    assert record is not None and record["precision"] == "bf16" and record["device"] == "cpu"
    assert record["checked"] == auto.agreement
    again = open_predictor(pack, device="cpu", precision="auto", cache_dir=cache)
    assert again.precision == "bf16"  # the recorded path starts at once
    np.testing.assert_allclose(_feed(again, images[64:]), fast, atol=1e-6)


def test_auto_rejects_an_autocast_path_that_disagrees(tmp_path, kit, cpu_bf16_offered) -> None:
    pack = _vit_pack(tmp_path, kit, "sharp", sharpen=60.0)
    cache = tmp_path / "cache"
    images = blob_images(96)
    exact = _feed(open_predictor(pack, device="cpu", precision="fp32"), images)
    forced = _feed(open_predictor(pack, device="cpu", precision="bf16"), images)
    assert np.abs(forced - exact).max() > 0.02  # the premise: bf16 changes this model's answers

    auto = open_predictor(pack, device="cpu", precision="auto", cache_dir=cache)
    answers = _feed(auto, images)
    assert auto.precision == "fp32"
    np.testing.assert_allclose(answers, exact, atol=1e-5)  # every answer was fp32's
    names = [a["precision"] for a in auto.agreement]
    assert names[0] == "bf16" and set(names[1:]) <= {"int8", "int8-partial"}  # autocast first
    rejected = auto.agreement[0]
    assert not rejected["passed"] and rejected["images"] == 64
    assert rejected["max_score_diff"] > 0.02 or rejected["top1_agreement"] < 0.99
    assert not any(a["passed"] for a in auto.agreement)
    record = read_record(next(cache.glob("sharp-*-precision.json")))
    assert record is not None and record["precision"] == "fp32"
    assert record["checked"][0]["precision"] == "bf16"


def _as_if_on_cuda(predictor, monkeypatch, *, bf16: bool) -> None:
    """The predictor believes it runs on CUDA (nothing is computed there in these tests)."""
    predictor.device = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)

    def no_onnx(*args, **kwargs):
        raise AssertionError("onnxruntime is a CPU path: nothing is exported for CUDA")

    monkeypatch.setattr(tb, "export_cnn", no_onnx)


@pytest.mark.parametrize("bf16", [True, False])
@pytest.mark.parametrize("family", ["vit", "cnn"])
def test_cuda_candidates_are_autocast_first_and_never_int8(tmp_path, kit, monkeypatch,
                                                           family, bf16) -> None:
    pack = _vit_pack(tmp_path, kit, "v") if family == "vit" else _cnn_pack(tmp_path, kit)
    predictor = open_predictor(pack, device="cpu", precision="fp32")
    _as_if_on_cuda(predictor, monkeypatch, bf16=bf16)
    assert autocast_paths("cuda") == (["fp16", "bf16"] if bf16 else ["fp16"])
    runner, precision = predictor._auto()
    assert precision == "checking" and runner is predictor._gate
    assert [name for name, _ in predictor._gate.candidates] == autocast_paths("cuda")
    assert "onnxruntime" not in predictor.device_description


def test_cuda_starts_on_a_recorded_autocast_decision(tmp_path, kit, monkeypatch) -> None:
    pack = _vit_pack(tmp_path, kit, "v")
    cache = tmp_path / "cache"
    predictor = open_predictor(pack, device="cpu", precision="fp32", cache_dir=cache)
    _as_if_on_cuda(predictor, monkeypatch, bf16=True)
    checked = [{"precision": "fp16", "images": 64, "top1_agreement": 1.0,
                "max_score_diff": 0.001, "passed": True}]
    write_record(predictor._record_path(), chosen="fp16", device="cuda", checked=checked)
    runner, precision = predictor._auto()
    assert precision == "fp16" and predictor._gate is None and predictor.agreement == checked
    # a CPU run of the same pack does not take CUDA's decision: it checks again
    assert open_predictor(pack, device="cpu", precision="auto",
                          cache_dir=cache).precision == "checking"


def test_explicit_fp16_off_cuda_runs_fp32_and_says_so(tmp_path, kit) -> None:
    pack = _vit_pack(tmp_path, kit, "v")
    images = blob_images(16)
    fp16 = open_predictor(pack, device="cpu", precision="fp16")
    assert fp16.precision == "fp32" and predictor_status(fp16) == "CPU · fp32"
    (warning,) = [w for w in fp16.warnings if "fp16" in w]
    assert "CUDA" in warning and "fp32" in warning
    exact = open_predictor(pack, device="cpu", precision="fp32")
    np.testing.assert_array_equal(_feed(fp16, images), _feed(exact, images))
