"""Device selection (this machine and CI have no GPU; GPU cases are simulated)."""

from __future__ import annotations

import pytest
import torch

from models import device as dev
from models.device import DeviceError, select_device


def test_forced_cpu() -> None:
    choice = select_device("cpu")
    assert choice.torch_device == torch.device("cpu")
    assert choice.description.startswith("cpu") and choice.warnings == ()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_unavailable_cuda_is_a_clear_error(name: str) -> None:
    with pytest.raises(DeviceError, match=rf"device '{name}' is not available: "):
        select_device(name)


@pytest.mark.skipif(dev._mps_available(), reason="needs a machine without MPS")
def test_unavailable_mps_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match="device 'mps' is not available"):
        select_device("mps")


def test_unknown_device_string() -> None:
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        select_device("tpu")


def test_auto_falls_back_to_cpu_here(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    monkeypatch.setattr(dev, "_nvidia_gpu_present", lambda: False)
    choice = select_device(None)
    assert choice.torch_device.type == "cpu" and choice.warnings == ()


def test_gpu_present_without_driver_warns(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    monkeypatch.setattr(dev, "_nvidia_gpu_present", lambda: True)
    choice = select_device()
    assert choice.torch_device.type == "cpu"
    assert len(choice.warnings) == 1 and "built with CUDA 12.4" in choice.warnings[0]


def test_gpu_arch_mismatch_warns_and_uses_cpu(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i=0: (12, 0))
    monkeypatch.setattr(torch.cuda, "get_arch_list", lambda: ["sm_80", "sm_90"])
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Future GPU")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    choice = select_device()
    assert choice.torch_device.type == "cpu"
    assert "Future GPU is sm_120" in choice.warnings[0]
    with pytest.raises(DeviceError, match="cannot be used: Future GPU is sm_120"):
        select_device("cuda:0")


def test_bf16_probe_returns_a_bool() -> None:
    assert isinstance(dev.cpu_supports_bf16(), bool)
