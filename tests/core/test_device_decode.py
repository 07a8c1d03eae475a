"""The GPU feeding paths wired into tagging, exercised through their CPU branches.

- JPEG files decoded by the predictor's device decoder (``jpeg_device``; nvJPEG on CUDA, here
  the same code on the CPU) give the model the input the PIL path gives it, within rounding,
  and a file the device decoder refuses ends exactly as on the PIL path (sample or error line);
- the torch predictor's batch size comes from the device's free memory over the model's
  measured footprint, and the tag job batches at that size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import tagging_kit as h
import torch
from PIL import Image

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.core.tagging import packs_registry, tag_images
from animesion_desktop.core.tagging.pipeline import Pipeline, WorkItem
from models.backends import feeding, open_predictor
from models.backends.feeding import batch_size_from_memory
from models.pack import load_pack

MIB = 1 << 20


def art(path: Path, size: tuple[int, int], seed: int, mode: str = "RGB", **save) -> Path:
    rng = np.random.default_rng(seed)
    w, h_ = size
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h_)[:, None, None]
    base = rng.uniform(40, 200, 3) + 60 * np.sin(9 * x + rng.uniform(0, 3, 3)) * np.cos(7 * y)
    im = Image.fromarray(np.clip(base + rng.normal(0, 10, (h_, w, 3)), 0, 255).astype(np.uint8))
    im.convert(mode).save(path, "JPEG" if path.suffix == ".jpg" else None, quality=90, **save)
    return path


@dataclass
class Recording:
    """The real predictor, reporting each image's model input as its embedding."""

    real: object
    decoded_on_device: list[int] = field(default_factory=list)

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def jpeg_samples(self, datas):
        self.decoded_on_device.append(len(datas))
        return self.real.jpeg_samples(datas)

    def predict(self, batch):
        pred = self.real.predict(batch)
        x = batch.numpy() if isinstance(batch, torch.Tensor) else np.asarray(batch)
        pred.embedding = x.reshape(len(x), -1).copy()
        return pred


def run(predictor, items) -> dict[int, tuple[np.ndarray | None, str | None]]:
    out = {}
    with Pipeline(predictor, items, threading.Event(), batch_size=3, min_size=64) as p:
        for batch in p.results():
            for r in batch:
                out[r.image_id] = (r.embedding, r.error)
    return out


def test_device_decoding_gives_the_model_the_pil_input_within_rounding(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    files = [
        art(tmp_path / "a.jpg", (320, 240), 1), art(tmp_path / "b.jpg", (500, 300), 2),
        art(tmp_path / "c.jpg", (64, 64), 3), art(tmp_path / "turned.jpg", (300, 200), 4,
                                                  exif=exif),
        art(tmp_path / "grey.jpg", (200, 150), 5, mode="L"),
        art(tmp_path / "cmyk.jpg", (120, 90), 6, mode="CMYK"),
        art(tmp_path / "d.png", (200, 100), 7),
    ]
    cut = tmp_path / "cut.jpg"
    cut.write_bytes((tmp_path / "b.jpg").read_bytes()[:400])
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8 not really a jpeg")
    files += [cut, junk]
    items = [WorkItem(i, (str(p),)) for i, p in enumerate(files)]
    pack = load_pack(h.write_real_pack(tmp_path / "pack", size=64))
    cpu = Recording(open_predictor(pack, device="cpu", precision="fp32"))
    cpu_path = run(cpu, items)
    gpu_like = Recording(open_predictor(pack, device="cpu", precision="fp32"))
    gpu_like.real.jpeg_device = torch.device("cpu")  # the nvJPEG code path, on the CPU
    device_path = run(gpu_like, items)
    # every RGB or grey JPEG went to the device decoder (CMYK and non-JPEGs: the PIL path)
    assert cpu.decoded_on_device == [] and sum(gpu_like.decoded_on_device) >= 5
    assert device_path.keys() == cpu_path.keys() == set(range(len(files)))
    std = np.repeat(np.asarray(pack.input.std), 64 * 64)  # [3 * S * S], NCHW flattened
    for i in range(len(files)):
        (x_cpu, err_cpu), (x_dev, err_dev) = cpu_path[i], device_path[i]
        assert err_dev == err_cpu, files[i].name  # errors: the same words
        if err_cpu is None:
            levels = np.abs(x_dev - x_cpu) * std * 255  # back to 0..255 pixel units
            assert levels.max() <= 1.01 and levels.mean() < 0.3, files[i].name
    assert cpu_path[len(files) - 1][1] is not None  # the junk file is an error both ways


def test_a_device_decode_failure_falls_back_to_the_cpu_path_per_file(tmp_path: Path,
                                                                      monkeypatch) -> None:
    files = [art(tmp_path / f"{i}.jpg", (200, 150), i) for i in range(4)]
    items = [WorkItem(i, (str(p),)) for i, p in enumerate(files)]
    pack = load_pack(h.write_real_pack(tmp_path / "pack", size=64))
    predictor = Recording(open_predictor(pack, device="cpu", precision="fp32"))
    predictor.real.jpeg_device = torch.device("cpu")
    real = feeding._decode

    def flaky(data: bytes, device: str):
        if data == (tmp_path / "2.jpg").read_bytes():
            raise RuntimeError("nvjpeg: unsupported sampling")
        return real(data, device)

    monkeypatch.setattr(feeding, "_decode", flaky)
    got = run(predictor, items)
    assert all(err is None for _, err in got.values())
    reference = run(Recording(open_predictor(pack, device="cpu", precision="fp32")), items[2:3])
    np.testing.assert_array_equal(got[2][0], reference[2][0])  # that one: the PIL path's input


@pytest.mark.parametrize("free_mib,expected", [(2000, 136), (500, 24)])
def test_batch_size_follows_the_free_memory_into_the_tag_job(tmp_path: Path, monkeypatch,
                                                            free_mib: int, expected: int) -> None:
    # a fake device: this much free memory, 100 MiB fixed + 10 MiB a sample measured
    monkeypatch.setattr(feeding, "device_free_memory", lambda device: free_mib * MIB)
    monkeypatch.setattr(feeding, "measure_footprint",
                        lambda run, device, probe=4: (100 * MIB, 10 * MIB))
    assert batch_size_from_memory(free_mib * MIB, 10 * MIB, fixed_bytes=100 * MIB) == expected
    src = h.write_real_pack(tmp_path / "pack", size=32)
    root = tmp_path / "art"
    root.mkdir()
    for i in range(150):
        Image.new("RGB", (24, 24), (i, 2 * i % 255, 90)).save(root / f"{i:03d}.png")
    sizes: list[int] = []

    def open_pack(path, device, precision=None):
        model_pack = load_pack(path)
        predictor = open_predictor(model_pack, device="cpu", precision="fp32")
        real = predictor.predict
        predictor.predict = lambda batch: sizes.append(len(batch)) or real(batch)
        return model_pack, predictor, []

    with Library.open(tmp_path / "lib.sqlite") as lib:
        packs_registry.install(lib, src)
        run_to_end(scan_roots(lib, [root], threading.Event()))
        summary = run_to_end(tag_images(lib, None, threading.Event(), open_pack=open_pack))
    assert summary.tagged == 150
    assert max(sizes) == expected and sizes.count(expected) == 150 // expected


def test_the_cpu_keeps_its_default_batch(tmp_path: Path) -> None:
    pack = load_pack(h.write_real_pack(tmp_path / "pack", size=32))
    predictor = open_predictor(pack, device="cpu", precision="fp32")
    assert predictor.batch_size == 8 and predictor.jpeg_device is None


def test_host_samples_stack_to_numpy_and_device_samples_to_a_tensor() -> None:
    a = np.ones((3, 4, 4), np.float32)
    assert isinstance(feeding.stack_samples([a, a], torch.device("cpu")), np.ndarray)
    mixed = feeding.stack_samples([a, torch.zeros(3, 4, 4)], torch.device("cpu"))
    assert isinstance(mixed, torch.Tensor) and mixed.shape == (2, 3, 4, 4)
    assert float(mixed[0].sum()) == 48.0 and float(mixed[1].sum()) == 0.0

