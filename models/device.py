"""Choosing the torch device: CUDA, then MPS, then CPU, or what the user asked for.

An automatic choice never fails: a GPU that is present but unusable (a CUDA build without a
driver, a card this build has no kernels for) falls back to the CPU with a warning saying why.
An explicit request for a device that cannot be used raises :class:`DeviceError`.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

_CUDA_RE = re.compile(r"^cuda(?::(\d+))?$")


class DeviceError(RuntimeError):
    """The requested device does not exist or cannot be used."""


@dataclass(frozen=True)
class DeviceChoice:
    torch_device: torch.device
    description: str
    warnings: tuple[str, ...] = ()


def cpu_supports_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX); elsewhere bf16 is
    emulated and slower than fp32, so the fast path must not use it."""
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(torch.cpu, probe, None)
        if fn is not None:
            try:
                if fn():
                    return True
            except Exception:  # private helpers: treat any failure as "no"
                continue
    return False


def _nvidia_gpu_present() -> bool | None:
    """Is an NVIDIA display/3D controller on the PCI bus? None when we cannot tell (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    root = Path("/sys/bus/pci/devices")
    try:
        for dev in root.iterdir():
            vendor = (dev / "vendor").read_text().strip()
            cls = (dev / "class").read_text().strip()
            if vendor == "0x10de" and cls.startswith("0x03"):
                return True
    except OSError:
        return None
    return False


def _cuda_problem(index: int) -> str | None:
    """Why CUDA device ``index`` cannot run this build's kernels, or None if it can."""
    try:
        major, minor = torch.cuda.get_device_capability(index)
        arch_list = torch.cuda.get_arch_list()
    except Exception as exc:
        return f"cannot query the GPU ({exc})"
    if arch_list:
        cap = major * 10 + minor
        sm = {int(a[3:]) for a in arch_list if a.startswith("sm_") and a[3:].isdigit()}
        ptx = {int(a[8:]) for a in arch_list if a.startswith("compute_") and a[8:].isdigit()}
        # Exact cubins, or PTX of an older arch that the driver can JIT-compile forward.
        if cap not in sm and not any(p <= cap for p in ptx):
            name = torch.cuda.get_device_name(index)
            return (
                f"{name} is sm_{cap}, but this PyTorch build only has kernels for "
                f"{', '.join(arch_list)}; install a PyTorch build that supports it"
            )
    try:
        torch.zeros(1, device=f"cuda:{index}").add_(1)
    except Exception as exc:
        return f"a test allocation on cuda:{index} failed ({exc})"
    return None


def _cuda_unavailable_reason() -> str:
    if torch.version.cuda is None:
        return "this PyTorch build has no CUDA support"
    if torch.cuda.device_count() == 0 and not os.environ.get("CUDA_VISIBLE_DEVICES", "x"):
        return "CUDA_VISIBLE_DEVICES hides every GPU"
    if _nvidia_gpu_present() is False:
        return "no NVIDIA GPU found"
    return (
        f"PyTorch is built with CUDA {torch.version.cuda} but cannot use a GPU "
        "(no NVIDIA driver loaded, or a driver too old for this build)"
    )


def _describe_cuda(index: int) -> str:
    major, minor = torch.cuda.get_device_capability(index)
    return f"cuda:{index} · {torch.cuda.get_device_name(index)} (sm_{major}{minor})"


def _cpu_choice(warnings: list[str]) -> DeviceChoice:
    return DeviceChoice(
        torch.device("cpu"), f"cpu · {torch.get_num_threads()} threads", tuple(warnings)
    )


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def select_device(requested: str | None = None) -> DeviceChoice:
    """Pick a device. ``requested``: None or "auto" (CUDA > MPS > CPU), "cpu", "cuda",
    "cuda:N" or "mps"."""
    req = (requested or "auto").strip().lower()
    if req == "cpu":
        return _cpu_choice([])
    if req == "mps":
        if not _mps_available():
            built = getattr(torch.backends, "mps", None) and torch.backends.mps.is_built()
            why = "needs macOS 12.3+ on Apple silicon" if built else "this build has no MPS support"
            raise DeviceError(f"device 'mps' is not available: {why}")
        return DeviceChoice(torch.device("mps"), "mps · Apple GPU")
    match = _CUDA_RE.match(req)
    if match:
        index = int(match.group(1) or 0)
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{req}' is not available: {_cuda_unavailable_reason()}")
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(f"device '{req}' does not exist: {count} CUDA device(s) found")
        problem = _cuda_problem(index)
        if problem:
            raise DeviceError(f"device '{req}' cannot be used: {problem}")
        return DeviceChoice(torch.device(f"cuda:{index}"), _describe_cuda(index))
    if req != "auto":
        raise DeviceError(f"unknown device {requested!r}: use auto, cpu, cuda, cuda:N or mps")

    warnings: list[str] = []
    if torch.cuda.is_available():
        problem = _cuda_problem(0)
        if problem is None:
            return DeviceChoice(torch.device("cuda:0"), _describe_cuda(0))
        warnings.append(f"GPU not used: {problem}")
    elif torch.version.cuda is not None and _nvidia_gpu_present():
        # A CUDA build on a machine with an NVIDIA card that it cannot use: say why it is idle.
        warnings.append(f"GPU not used: {_cuda_unavailable_reason()}")
    if _mps_available():
        return DeviceChoice(torch.device("mps"), "mps · Apple GPU", tuple(warnings))
    return _cpu_choice(warnings)
