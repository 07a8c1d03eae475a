"""GPU feeding code paths, through their CPU branches: the device JPEG decoder gives the model
what the PIL path gives it within rounding, falls back per file, and the batch size follows
the free memory."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from models.backends.feeding import (
    HostStager,
    batch_size_from_memory,
    choose_batch_size,
    decode_jpegs,
    jpeg_samples,
)
from models.preprocess import preprocess_image
from models.spec import InputSpec

CPU = torch.device("cpu")


def jpeg(width: int, height: int, seed: int, **save) -> bytes:
    """Drawn-art-like content: smooth gradients with some texture."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    base = rng.uniform(40, 200, 3) + 50 * np.sin(6 * x + rng.uniform(0, 3, 3)) * np.cos(4 * y)
    noise = rng.normal(0, 6, (height, width, 3))
    im = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, **save)
    return buf.getvalue()


def pil_path(data: bytes, spec: InputSpec) -> np.ndarray:
    from PIL import ImageOps

    return preprocess_image(ImageOps.exif_transpose(Image.open(io.BytesIO(data))), spec)


@pytest.mark.parametrize("resize", ["stretch", "pad", "crop"])
@pytest.mark.parametrize("layout,order", [("NCHW", "RGB"), ("NHWC", "BGR")])
def test_cpu_branch_gives_the_model_the_pil_input_within_rounding(resize, layout, order) -> None:
    spec = InputSpec(size=64, resize=resize, layout=layout, channel_order=order,
                     mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    datas = [jpeg(320, 240, 1), jpeg(150, 260, 2), jpeg(64, 64, 3)]
    got = jpeg_samples(datas, spec, CPU)
    std = np.asarray(spec.std)
    for data, sample in zip(datas, got, strict=True):
        assert isinstance(sample, torch.Tensor)
        ref = pil_path(data, spec)
        assert sample.shape == ref.shape and sample.dtype == torch.float32
        # back to 0..255 pixel units: at most one level apart (rounding), nearly all equal
        per_channel = std[:, None, None] if layout == "NCHW" else std[None, None, :]
        diff = np.abs(sample.numpy() - ref) * per_channel * 255
        assert diff.max() <= 1.01 and diff.mean() < 0.3


def test_exif_orientation_is_applied_like_the_pil_path() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = jpeg(120, 60, 4, exif=exif)
    (got,) = decode_jpegs([data], CPU)
    assert isinstance(got, torch.Tensor) and tuple(got.shape) == (3, 120, 60)


def test_a_bad_file_costs_only_itself() -> None:
    good = jpeg(80, 60, 5)
    got = decode_jpegs([good, b"not a jpeg at all", good[: len(good) // 3], good], CPU)
    assert isinstance(got[0], torch.Tensor) and isinstance(got[3], torch.Tensor)
    assert isinstance(got[1], str) and got[1].startswith("damaged image:")
    assert ".cpp" not in got[1]
    # a truncated JPEG either decodes what is there (libjpeg pads it) or is an error line
    assert isinstance(got[2], (torch.Tensor, str))


def test_batch_size_follows_free_memory() -> None:
    mib = 1 << 20
    assert batch_size_from_memory(8000 * mib, 40 * mib, fixed_bytes=500 * mib) == 136
    assert batch_size_from_memory(100 * mib, 40 * mib) == 1  # never below one
    assert batch_size_from_memory(1 << 40, 1 * mib) == 256  # capped
    assert batch_size_from_memory(300 * mib, 40 * mib) == 5  # small batches stay exact


def test_cpu_keeps_the_default_batch_and_plain_copies() -> None:
    calls = []
    assert choose_batch_size(lambda n: calls.append(n), CPU, default=16) == 16
    assert calls == []  # nothing to measure without CUDA
    stager = HostStager(CPU)
    batch = np.arange(24, dtype=np.float64).reshape(2, 3, 2, 2)
    x = stager.to_device(batch)
    assert x.dtype == torch.float32 and not stager.pinned
    assert np.array_equal(x.numpy(), batch.astype(np.float32))
