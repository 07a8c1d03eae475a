"""Autocast paths: the eager model under ``torch.autocast`` in fp16 or bf16.

On CUDA these are ``auto``'s fast paths (int8 dynamic quantization and onnxruntime are CPU
paths), checked against fp32 by ``models.precision.AgreementGate`` like int8 on the CPU. The
device-specific part is only :func:`autocast_paths` (which paths a device type is offered);
:func:`autocast_runner` takes the autocast device type from the device the batch runs on, so
the tests run the very same runner and check on the CPU with bf16 (there is no GPU here).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import torch

from models.backends.feeding import HostStager
from models.base import AnimesionModel
from models.precision import Output, Runner

# The precision names of the autocast paths, fastest first (the order auto tries them).
AUTOCAST_DTYPES: dict[str, torch.dtype] = {"fp16": torch.float16, "bf16": torch.bfloat16}

Activate = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]  # logits -> probs


def cuda_bf16_supported() -> bool:
    """bf16 autocast is worth offering only where the GPU computes it (Ampere and later)."""
    try:
        return bool(torch.cuda.is_bf16_supported())
    except Exception:  # no CUDA build or no driver: nothing to offer
        return False


def autocast_paths(device_type: str) -> list[str]:
    """The autocast paths ``auto`` offers on ``device_type``, in the order tried: fp16 first
    (tensor cores, half the memory traffic), then bf16 where the GPU has it (its fp32-wide
    range survives activations that overflow fp16). None elsewhere: on the CPU bf16 is
    emulated on most machines and int8 is the fast path; MPS is not checked here."""
    if device_type != "cuda":
        return []
    return ["fp16", "bf16"] if cuda_bf16_supported() else ["fp16"]


@contextlib.contextmanager
def autocast(device_type: str, dtype: torch.dtype | None) -> Iterator[None]:
    """``torch.autocast`` on ``device_type`` in ``dtype``; nothing when ``dtype`` is None."""
    if dtype is None:
        yield
    else:
        with torch.autocast(device_type=device_type, dtype=dtype):
            yield


def autocast_runner(net: AnimesionModel, device: torch.device, activate: Activate, *,
                    dtype: torch.dtype | None = None, channels_last: bool = False) -> Runner:
    """A runner of ``net`` on ``device``, under autocast in ``dtype``
    (None: fp32, the reference): [N, 3, S, S] float32 -> (embedding, probabilities per head).

    ``channels_last`` suits CNNs (the layout tensor cores and oneDNN convolve fastest)."""
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    stager = HostStager(device)  # CUDA: pinned buffers, non-blocking copies

    def run(batch: np.ndarray) -> Output:
        x = stager.to_device(batch)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), autocast(device.type, dtype):
            features = net.forward_features(x)  # [N, D]
            logits = net.forward_head(features)
        # scores in fp32, whatever autocast computed the logits in
        raw = {k: v.float().cpu().numpy() for k, v in logits.items()}
        return features.float().cpu().numpy(), activate(raw)

    return run
