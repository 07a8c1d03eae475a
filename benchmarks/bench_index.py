"""Adding a folder with a pack active: scan then tag, the one-pass job, and a naive loop.
Prints figures and PASS/FAIL against the goals; asserts nothing.

On the same generated 1600x1200 JPEGs (quality 90, drawn-art-like content), for each model
(random weights, packs written in a temporary folder), on the CPU, each in a fresh library:

(a) scan then tag: what ``animesion scan`` does (``scan_roots``: read, hash, draft decode,
    thumbnail; then ``hash_images``: near-duplicate hashes from the thumbnails), then
    ``tag_images`` (open and decode every file again for the model);
(b) one pass: ``index_and_tag`` (each file read, hashed and decoded once for thumbnail,
    perceptual hash and model: what Add folder and ``scan --tag`` run);
(c) naive: per file, open + read + SHA-256, full decode, ``thumbnail(256)`` and save; then open
    it again, convert RGB, torchvision Resize/ToTensor/Normalize, the model at batch 1 in fp32.

Files/s (wall clock) and CPU ms per file are printed for each stage, and then the CPU cost of
each piece of work, timed alone on one thread over the first 100 files (``--stages``): what
(b) does once and what (a) does on top (the tagger's second open and decode). Goals (2-core CPU):
(b) >= 1.5 x (a) for resnet18 and >= 1.1 x (a) for vit_b16. A CNN's int8 calibration is done
once before timing and its cache copied into each fresh library, as a user's library keeps it.

The packs run in int8 (``--precision``; the CNN through onnxruntime, the ViT's Linear layers
dynamically quantized), the path a trained pack takes once ``auto`` has checked it against
fp32. Random weights fail that check (the 3,263-way character head is nearly uniform, so its
top-1 flips: 93.8 % agreement for resnet18), and ``auto`` would then time the fp32 model, which
costs ~20 ms of CPU per file and hides everything the one pass saves.

Usage: python benchmarks/bench_index.py [--files 1000] [--models resnet18:128,vit_b16:128]
       [--repeat 1] [--stages 100]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from bench_tagging import cpu_seconds, drawing, make_pack, on_thread  # noqa: E402

from animesion_desktop.core.indexing import index_and_tag  # noqa: E402
from animesion_desktop.core.jobs import Job, run_to_end  # noqa: E402
from animesion_desktop.core.library import Library  # noqa: E402
from animesion_desktop.core.scan import scan_roots  # noqa: E402
from animesion_desktop.core.similar.duplicates import hash_images  # noqa: E402
from animesion_desktop.core.tagging import packs_registry, tag_images  # noqa: E402
from models.backends.torch_backend import load_pack_model  # noqa: E402
from models.pack import load_pack  # noqa: E402

GOALS = {"resnet18": 1.5, "vit_b16": 1.1}
PRECISION = "int8"  # --precision
WIDTH, HEIGHT = 1600, 1200
Stage = tuple[float, float]  # (files per second, CPU seconds per file)


def make_images(folder: Path, count: int) -> list[Path]:
    rng = random.Random(0)
    paths = []
    base = [drawing(rng, WIDTH).crop((0, 0, WIDTH, HEIGHT)) for _ in range(min(count, 16))]
    for i in range(count):
        im = base[i % len(base)].copy()
        im.putpixel((i % WIDTH, i // WIDTH), (i % 251, 7, 9))  # every file a new image
        path = folder / f"{i:05d}.jpg"
        im.save(path, quality=90)
        paths.append(path)
    return paths


def measure(fn: Callable[[], object], n: int) -> Stage:
    t0, c0 = time.perf_counter(), cpu_seconds()
    on_thread(fn)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return n / wall, cpu / n


class Fresh:
    """A new library with the pack installed and its derived cache (int8 graph) in place."""

    def __init__(self, work: Path, pack_dir: Path, cache: Path) -> None:
        self.tmp = tempfile.mkdtemp(dir=work)
        self.lib = Library.open(Path(self.tmp) / "lib.sqlite")
        packs_registry.install(self.lib, pack_dir)
        if cache.is_dir():
            shutil.copytree(cache, self.lib.location.packs_dir / ".cache", dirs_exist_ok=True)

    def close(self, keep_cache: Path | None = None) -> None:
        mine = self.lib.location.packs_dir / ".cache"
        if keep_cache is not None and mine.is_dir() and not keep_cache.is_dir():
            shutil.copytree(mine, keep_cache)
        self.lib.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def drain(job: Job[object]) -> object:
    return run_to_end(job)  # type: ignore[no-any-return]


def scan_then_tag(fresh: Fresh, root: Path, n: int, batch: int | None) -> tuple[Stage, Stage]:
    lib = fresh.lib

    def scan_command() -> None:  # `animesion scan`: the scan, then near-duplicate hashes
        drain(scan_roots(lib, [root], threading.Event()))
        drain(hash_images(lib, threading.Event()))

    scan = measure(scan_command, n)
    out: list[object] = []
    tag = measure(lambda: out.append(drain(tag_images(lib, None, threading.Event(),
                                                      device="cpu", batch_size=batch,
                                                      precision=PRECISION))), n)
    assert out[0].tagged == n, out[0]  # type: ignore[attr-defined]
    return scan, tag


def one_pass(fresh: Fresh, root: Path, n: int, batch: int | None) -> Stage:
    out: list[object] = []
    stage = measure(lambda: out.append(drain(index_and_tag(
        fresh.lib, [root], threading.Event(), device="cpu", batch_size=batch,
        precision=PRECISION))), n)
    assert out[0].tags.tagged == n, out[0].line()  # type: ignore[attr-defined]
    return stage


def naive(pack_dir: Path, paths: list[Path], thumbs: Path) -> tuple[Stage, Stage]:
    from torchvision import transforms

    pack = load_pack(pack_dir)
    model = load_pack_model(pack)
    spec = pack.input
    transform = transforms.Compose([
        transforms.Resize((spec.size, spec.size)), transforms.ToTensor(),
        transforms.Normalize(spec.mean, spec.std),
    ])

    def index() -> None:
        for path in paths:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            im = Image.open(io.BytesIO(data)).convert("RGB")
            im.thumbnail((256, 256))
            im.save(thumbs / f"{digest}.jpg", quality=85)

    def tag() -> None:
        for path in paths:
            x = transform(Image.open(path).convert("RGB")).unsqueeze(0)
            with torch.no_grad():
                out = model(x)
            torch.softmax(out["character"], dim=1).topk(5)
            torch.sigmoid(out["general"])

    thumbs.mkdir(exist_ok=True)
    return measure(index, len(paths)), measure(tag, len(paths))


def stage_costs(pack_dir: Path, cache: Path, paths: list[Path],
                thumbs: Path) -> list[tuple[str, float]]:
    """CPU ms per file of each piece of work, alone on this thread, as the jobs do it."""
    from animesion_desktop.core.scan.decode import open_image as open_lazily
    from animesion_desktop.core.scan.hashing import read_and_hash
    from animesion_desktop.core.scan.thumbnails import (
        draft_request,
        encode_thumbnail,
        make_thumbnail,
        write_thumbnail,
    )
    from animesion_desktop.core.similar.phash import phash
    from animesion_desktop.core.tagging.decode import open_image, upright
    from models.backends import open_predictor

    pack = load_pack(pack_dir)
    size = pack.input.size
    # the precision the runs use (a CNN's int8 graph calibrated by the warm-up, in the cache)
    predictor = open_predictor(pack, device="cpu", cache_dir=cache, precision=PRECISION)
    n = len(paths)
    out: list[tuple[str, float]] = []
    clock = [cpu_seconds()]

    def lap(name: str) -> None:
        now = cpu_seconds()
        out.append((name, (now - clock[0]) * 1000 / n))
        clock[0] = cpu_seconds()

    datas: list[bytes] = []
    for p in paths:
        data = read_and_hash(os.fsencode(p), p.stat().st_size)[1]
        assert data is not None
        datas.append(data)
    lap("read + SHA-256")
    ims: list[Image.Image] = []
    for data in datas:
        im = open_lazily(io.BytesIO(data))
        im.draft("RGB", draft_request(im.size, size))
        im.load()
        ims.append(im)
    lap("open + draft decode")
    smalls = [make_thumbnail(im, at_least=size) for im in ims]
    lap("thumbnail resize")
    thumbs.mkdir(exist_ok=True)
    encoded: list[bytes] = []
    for i, small in enumerate(smalls):
        encoded.append(encode_thumbnail(small))
        write_thumbnail(encoded[-1], thumbs / f"{i}.jpg")
    lap("thumbnail encode + write")
    for data in encoded:
        phash(Image.open(io.BytesIO(data)))
    lap("perceptual hash (thumbnail bytes)")
    samples = [predictor.preprocess(upright(im)) for im in ims]
    lap("upright + preprocess")
    batch = np.stack(samples)
    for i in range(0, n, 8):
        predictor.predict(batch[i:i + 8])
    lap(f"model ({predictor.precision}), batch 8")
    for p in paths:
        open_image(p, size)
    lap("(a) only: the tagger's open + decode")
    predictor.close()
    return out


def line(name: str, stage: Stage) -> str:
    return f"    {name:<22}: {stage[0]:7.1f} files/s  ({stage[1] * 1000:7.1f} ms CPU/file)"


def combined(*stages: Stage) -> Stage:
    """Two stages run one after the other over the same files."""
    return 1.0 / sum(1.0 / s[0] for s in stages), sum(s[1] for s in stages)


def bench_model(work: Path, arch: str, size: int, root: Path, paths: list[Path],
                repeat: int, batch: int | None, stages: int) -> bool:
    n = len(paths)
    print(f"\n{arch} at {size} px, {n} files")
    pack_dir = make_pack(work, arch, size)
    cache = work / f"cache-{arch}-{size}"
    shutil.rmtree(cache, ignore_errors=True)
    warm = Fresh(work, pack_dir, cache)  # the first run calibrates a CNN's int8 graph
    warm_root = work / f"warm-{arch}"
    warm_root.mkdir()
    for p in paths[:64]:
        shutil.copy(p, warm_root / p.name)
    run_to_end(scan_roots(warm.lib, [warm_root], threading.Event()))
    warmed = run_to_end(tag_images(warm.lib, None, threading.Event(), device="cpu",
                                   batch_size=batch, precision=PRECISION))
    print(f"    model: {warmed.runs[0].device}")
    warm.close(keep_cache=cache)
    best_a: tuple[Stage, Stage] | None = None
    best_c: tuple[Stage, Stage] | None = None
    b = (0.0, 0.0)
    for _ in range(repeat):
        fresh = Fresh(work, pack_dir, cache)
        try:
            got = scan_then_tag(fresh, root, n, batch)
        finally:
            fresh.close()
        if best_a is None or combined(*got)[0] > combined(*best_a)[0]:
            best_a = got
        fresh = Fresh(work, pack_dir, cache)
        try:
            b = max(b, one_pass(fresh, root, n, batch))
        finally:
            fresh.close()
        got = naive(pack_dir, paths, work / "naive-thumbs")
        if best_c is None or combined(*got)[0] > combined(*best_c)[0]:
            best_c = got
        shutil.rmtree(work / "naive-thumbs", ignore_errors=True)
    assert best_a is not None and best_c is not None
    (a_scan, a_tag), (c_index, c_tag) = best_a, best_c
    a = combined(a_scan, a_tag)
    c = combined(c_index, c_tag)
    print(line("(a) scan", a_scan))
    print(line("(a) then tag", a_tag))
    print(line("(a) scan then tag", a))
    print(line("(b) one pass", b))
    print(line("(c) naive index", c_index))
    print(line("(c) naive tag", c_tag))
    print(line("(c) naive", c))
    goal = GOALS.get(arch, 1.0)
    ok = b[0] >= goal * a[0]
    print(f"    (b)/(a) = {b[0] / a[0]:.2f}  goal >= {goal}  {'PASS' if ok else 'FAIL'};  "
          f"(b)/(c) = {b[0] / c[0]:.2f};  CPU per file (a)/(b) = {a[1] / b[1]:.2f}")
    if stages:
        print(f"    CPU ms per file of each piece, alone on one thread ({stages} files):")
        # on a worker thread like the runs (libgomp's spinning on the main thread inflates CPU)
        costs = on_thread(lambda: stage_costs(pack_dir, cache, paths[:stages],
                                              work / "stage-thumbs"))
        for name, ms in costs:
            print(f"      {name:<38}: {ms:6.2f}")
        # (a) does every piece (b) does plus the tagger's second open and decode; with the
        # cores equally busy, (b)/(a) cannot pass the ratio of their CPU per file.
        shared = sum(ms for name, ms in costs if not name.startswith("(a) only"))
        extra = sum(ms for name, ms in costs if name.startswith("(a) only"))
        pieces = (shared + extra) / shared
        measured = (b[1] * 1000 + extra) / (b[1] * 1000)
        ratio = b[0] / a[0]
        print(f"    ceiling of (b)/(a): {pieces:.2f} from the pieces alone, {measured:.2f} from (b)'s "
              f"measured CPU per file plus the second decode; (b)/(a) = {ratio:.2f} is "
              f"{100 * ratio / pieces:.0f} % / {100 * ratio / measured:.0f} % of them")
        shutil.rmtree(work / "stage-thumbs", ignore_errors=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--models", default="resnet18:128,vit_b16:128")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--precision", default="int8", choices=("auto", "fp32", "int8", "bf16", "fp16"),
                        help="what the packs run in (default int8: see the module docstring)")
    parser.add_argument("--stages", type=int, default=100,
                        help="files to time each piece of work on (0: skip)")
    args = parser.parse_args(argv)
    global PRECISION
    PRECISION = args.precision
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    results = []
    with tempfile.TemporaryDirectory(prefix="animesion-bench-index-") as tmp:
        work = Path(tmp)
        root = work / "images"
        root.mkdir()
        t = time.perf_counter()
        paths = make_images(root, args.files)
        print(f"{len(paths)} JPEGs of {WIDTH}x{HEIGHT} written in {time.perf_counter() - t:.1f} s")
        for spec in args.models.split(","):
            arch, _, size = spec.partition(":")
            results.append(bench_model(work, arch.strip(), int(size or 128), root, paths,
                                       args.repeat, args.batch_size, args.stages))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    print("ALL PASS" if all(results) else "SOME GOALS NOT MET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
