"""Keeping a GPU fed: pinned host buffers, a batch size from free memory, JPEGs decoded on the
device.

On a GPU the model costs almost nothing and getting pixels to it is the whole bill, so:

- :class:`HostStager` copies each batch through a reused page-locked (pinned) host buffer with a
  non-blocking copy, so the copy of one batch overlaps the model's work on the previous one;
- :func:`choose_batch_size` picks the batch from the device's free memory
  (:func:`device_free_memory`) and the model's measured footprint per sample
  (:func:`measure_footprint`, :func:`batch_size_from_memory`); the torch predictor's default
  batch on CUDA;
- :func:`jpeg_samples` decodes JPEG bytes with ``torchvision.io.decode_jpeg(device="cuda")``
  (nvJPEG) as one batch, falls back to the CPU decoder file by file on any error, and applies
  the pack's resize and normalisation as tensor operations on the same device. The torch
  predictor offers it (``jpeg_device``, ``jpeg_samples``, ``stack``) and the tagging pipeline
  uses it for JPEG files when the predictor has a device decoder (CUDA).

Every function has a CPU branch, which is what the tests run (this machine has no GPU); the
CPU branch of :func:`jpeg_samples` gives the model the same input as the PIL path
(``models.preprocess``) within rounding.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from models.spec import InputSpec

_SOURCE_PREFIX = re.compile(r"^.*?\.cpp:\d+, ")
HEADROOM = 0.25  # of the free memory left to the allocator, other streams and fragmentation


class HostStager:
    """Numpy batches to ``device``: on CUDA through two pinned buffers used in turn (a buffer is
    written again only after its previous copy finished), elsewhere a plain copy."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.pinned = device.type == "cuda"
        self._buffers: dict[tuple[int, ...], list[torch.Tensor]] = {}
        self._events: dict[tuple[int, ...], list[torch.cuda.Event | None]] = {}
        self._turn = 0

    def to_device(self, batch: np.ndarray | torch.Tensor) -> torch.Tensor:
        if isinstance(batch, torch.Tensor):  # samples decoded on the device (nvJPEG) stay there
            if batch.device == self.device or not self.pinned:
                return batch.to(self.device, torch.float32)
            batch = batch.numpy()
        src = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        if not self.pinned:
            return src.to(self.device)
        shape = tuple(src.shape)
        if shape not in self._buffers:
            self._buffers[shape] = [torch.empty(shape, dtype=torch.float32, pin_memory=True)
                                    for _ in range(2)]
            self._events[shape] = [None, None]
        self._turn ^= 1
        buffer, event = self._buffers[shape][self._turn], self._events[shape][self._turn]
        if event is not None:
            event.synchronize()  # its last copy must be done before the host overwrites it
        buffer.copy_(src)
        out = buffer.to(self.device, non_blocking=True)
        done = torch.cuda.Event()
        done.record()
        self._events[shape][self._turn] = done
        return out


def batch_size_from_memory(free_bytes: int, per_sample_bytes: int, *, fixed_bytes: int = 0,
                           headroom: float = HEADROOM, lo: int = 1, hi: int = 256) -> int:
    """The largest batch whose activations fit in the free memory, less a headroom; a multiple
    of 8 from 8 up (what tensor cores like), between ``lo`` and ``hi``."""
    usable = free_bytes * (1.0 - headroom) - fixed_bytes
    n = int(usable // max(1, per_sample_bytes))
    if n >= 8:
        n -= n % 8
    return max(lo, min(hi, n))


def measure_footprint(run: Callable[[int], object], device: torch.device,
                      probe: int = 4) -> tuple[int, int] | None:
    """(fixed bytes, bytes per sample) of ``run(batch)`` on a CUDA device, from the peak
    allocations of a batch of 1 and of ``probe``; None elsewhere (nothing to measure)."""
    if device.type != "cuda":
        return None
    peaks = []
    for n in (1, probe):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        run(n)
        torch.cuda.synchronize(device)
        peaks.append(torch.cuda.max_memory_allocated(device) - base)
    per_sample = max(1, (peaks[1] - peaks[0]) // (probe - 1))
    return max(0, peaks[0] - per_sample), per_sample


def device_free_memory(device: torch.device) -> int | None:
    """Free bytes on a CUDA device; None elsewhere (the CPU batch is not memory-bound)."""
    if device.type != "cuda":
        return None
    free, _total = torch.cuda.mem_get_info(device)
    return int(free)


def choose_batch_size(run: Callable[[int], object], device: torch.device, default: int,
                      hi: int = 256) -> int:
    """The batch size for ``device``: its free memory over the footprint of ``run(batch)``
    measured there, or ``default`` where there is nothing to measure (the CPU)."""
    free = device_free_memory(device)
    if free is None:
        return default
    measured = measure_footprint(run, device)
    if measured is None:
        return default
    fixed, per_sample = measured
    return batch_size_from_memory(free, per_sample, fixed_bytes=fixed, hi=hi)


# -- JPEG decoding on the device ----------------------------------------------------------------


def _decode(data: bytes, device: str) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_jpeg

    raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    out = decode_jpeg(raw, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True)
    assert isinstance(out, torch.Tensor)
    return out  # [3, H, W] uint8


def decode_jpegs(datas: Sequence[bytes], device: torch.device) -> list[torch.Tensor | str]:
    """Each file as [3, H, W] uint8 RGB (upright), or the reason it could not be decoded.

    On CUDA the whole list goes to nvJPEG at once; if that fails, each file is tried alone on
    the GPU and then on the CPU, so one odd file never costs the batch its GPU decode.
    """
    with warnings.catch_warnings():
        # torchvision >= 0.29 points to torchcodec on every call; decode_jpeg still works
        warnings.simplefilter("ignore", DeprecationWarning)
        return _decode_jpegs(datas, device)


def _decode_jpegs(datas: Sequence[bytes], device: torch.device) -> list[torch.Tensor | str]:
    from torchvision.io import ImageReadMode, decode_jpeg

    if device.type == "cuda":
        try:
            raws = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in datas]
            batch = decode_jpeg(raws, mode=ImageReadMode.RGB, device=device,
                                apply_exif_orientation=True)
            return list(batch)
        except Exception:  # some file nvJPEG refuses: go file by file
            pass
    out: list[torch.Tensor | str] = []
    for data in datas:
        tried = ("cuda", "cpu") if device.type == "cuda" else ("cpu",)
        error = "not a JPEG"
        for where in tried:
            try:
                out.append(_decode(data, where).to(device))
                break
            except Exception as exc:  # the next decoder, or this file's error line
                text = " ".join(str(exc).split()) or type(exc).__name__
                error = _SOURCE_PREFIX.sub("", text)  # torchvision names its C++ file first
        else:
            out.append(f"damaged image: {error}")
    return out


def _resized(x: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """[3, H, W] float 0..255 -> [3, S, S], as ``models.preprocess.resize`` does with PIL."""
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as F

    size, bicubic = spec.size, InterpolationMode.BICUBIC
    _, h, w = x.shape
    if spec.resize == "pad" and h != w:
        side = max(h, w)
        canvas = torch.tensor(spec.pad_color, dtype=x.dtype, device=x.device)
        canvas = canvas[:, None, None].expand(3, side, side).clone()
        top, left = (side - h) // 2, (side - w) // 2
        canvas[:, top:top + h, left:left + w] = x
        x, h, w = canvas, side, side
    if spec.resize == "crop":
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        if (nw, nh) != (w, h):
            x = F.resize(x, [nh, nw], interpolation=bicubic, antialias=True)
        top, left = (nh - size) // 2, (nw - size) // 2
        return x[:, top:top + size, left:left + size]
    if (h, w) != (size, size):
        x = F.resize(x, [size, size], interpolation=bicubic, antialias=True)
    return x


def to_sample(image: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """One decoded [3, H, W] uint8 image -> the pack's float32 sample on the same device."""
    # PIL resizes 8-bit pixels and rounds; do the same so both paths see the same values.
    x = _resized(image.float(), spec).round().clamp(0, 255)
    if spec.channel_order == "BGR":
        x = x.flip(0)
    mean = torch.tensor(spec.mean, dtype=torch.float32, device=x.device)[:, None, None]
    std = torch.tensor(spec.std, dtype=torch.float32, device=x.device)[:, None, None]
    x = (x * spec.scale - mean) / std
    return x.permute(1, 2, 0).contiguous() if spec.layout == "NHWC" else x


def jpeg_samples(datas: Sequence[bytes], spec: InputSpec,
                 device: torch.device) -> list[torch.Tensor | str]:
    """Model samples (or error lines) for JPEG files, decoded and preprocessed on ``device``."""
    out: list[torch.Tensor | str] = []
    for d in decode_jpegs(datas, device):
        if isinstance(d, str):
            out.append(d)
            continue
        try:
            out.append(to_sample(d, spec))
        except Exception as exc:  # an odd size the resize refuses: that file's error only
            out.append(f"cannot preprocess: {exc}")
    return out


def stack_samples(samples: Sequence[np.ndarray | torch.Tensor],
                  device: torch.device) -> np.ndarray | torch.Tensor:
    """One batch of samples decoded on the host (numpy) and/or on the device (tensors): a
    numpy array when all came from the host, else a tensor on ``device``."""
    if all(isinstance(s, np.ndarray) for s in samples):
        return np.stack(samples)  # type: ignore[arg-type]
    return torch.stack([torch.as_tensor(s, dtype=torch.float32).to(device) for s in samples])


def jpeg_decoder_available() -> bool:
    try:
        from torchvision.io import decode_jpeg  # noqa: F401
    except ImportError:
        return False
    return True
