"""The one-pass job (scan --tag) leaves the library the two passes (scan, then tag) leave:
the same file records and errors, thumbnails, perceptual hashes and exactly the same
predictions; it reads and decodes each new file once; known files cost nothing; a kill
mid-run resumes to the same result."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tagging_kit as h
from PIL import Image

from animesion_desktop.cli import main
from animesion_desktop.core.indexing import index_and_tag
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots, thumbnail_path
from animesion_desktop.core.similar import duplicates
from animesion_desktop.core.tagging import packs_registry, tag_images

_spec = importlib.util.spec_from_file_location(
    "bad_inputs_corpus", Path(__file__).with_name("test_bad_inputs.py"))
assert _spec is not None and _spec.loader is not None
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)


def art(path: Path, size: tuple[int, int], seed: int, **save) -> Path:
    """Drawn-art-like content (gradients, texture): its DCT scales really differ."""
    rng = np.random.default_rng(seed)
    w, h = size
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h)[:, None, None]
    base = rng.uniform(40, 200, 3) + 60 * np.sin(9 * x + rng.uniform(0, 3, 3)) * np.cos(7 * y)
    noise = rng.normal(0, 12, (h, w, 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(path, quality=90, **save)
    return path


def content_hash(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_with_pack(db: Path, pack_src: Path) -> Library:
    lib = Library.open(db)
    packs_registry.install(lib, pack_src)
    return lib


def state(lib: Library) -> dict[str, object]:
    """Everything both ways must agree on, keyed by path or content hash (ids may differ)."""
    with lib.read() as s:
        conn = s.connection()
        files = {
            bytes(r[0]): tuple(r[1:]) for r in conn.exec_driver_sql(
                "SELECT f.relpath_raw, f.status, f.error, i.width, i.height, i.format, i.hash "
                "FROM files f LEFT JOIN images i ON i.id = f.image_id")
        }
        runs = dict(conn.exec_driver_sql(
            "SELECT i.hash, r.error FROM inference_runs r JOIN images i ON i.id = r.image_id"
        ).all())
        preds: dict[str, dict[str, float]] = {}
        for hash_, cat, name, score in conn.exec_driver_sql(
            "SELECT i.hash, t.category, t.name, p.score FROM predictions p "
            "JOIN images i ON i.id = p.image_id JOIN tags t ON t.id = p.tag_id"
        ):
            preds.setdefault(hash_, {})[f"{cat}:{name}"] = score
        phashes = dict(conn.exec_driver_sql(
            "SELECT i.hash, p.phash FROM image_phash p JOIN images i ON i.id = p.image_id"
        ).all())
        grouped: dict[int, set[str]] = {}
        for group, hash_ in conn.exec_driver_sql(
            "SELECT p.dup_group, i.hash FROM image_phash p JOIN images i ON i.id = p.image_id "
            "WHERE p.dup_group IS NOT NULL"
        ):
            grouped.setdefault(group, set()).add(hash_)
    groups = {frozenset(g) for g in grouped.values() if len(g) > 1}
    thumbs = {
        hash_: thumbnail_path(lib.location.thumbs_dir, hash_).read_bytes()
        for _, _, _, _, _, hash_ in files.values()
        if hash_ is not None and thumbnail_path(lib.location.thumbs_dir, hash_).exists()
    }
    return {"files": files, "runs": runs, "preds": preds, "thumbs": thumbs, "phash": phashes,
            "groups": groups}


def two_passes(tmp_path: Path, root: Path, pack: Path, **tag) -> dict[str, object]:
    """What `animesion scan` (the scan, then near-duplicate hashing from the thumbnails) and
    then `animesion tag` leave."""
    with open_with_pack(tmp_path / "two.sqlite", pack) as lib:
        run_to_end(scan_roots(lib, [root], threading.Event()))
        run_to_end(duplicates.hash_images(lib, threading.Event()))
        run_to_end(tag_images(lib, None, threading.Event(), device="cpu", **tag))
        return state(lib)


def one_pass(tmp_path: Path, root: Path, pack: Path, **kw):
    with open_with_pack(tmp_path / "one.sqlite", pack) as lib:
        summary = run_to_end(index_and_tag(lib, [root], threading.Event(), device="cpu", **kw))
        return summary, state(lib)


def test_bad_input_corpus_gives_the_two_pass_result(tmp_path, make_image) -> None:
    root = tmp_path / "art"
    root.mkdir()
    bad = corpus.write_bad(root, make_image)
    corpus.write_good(root, make_image)
    pack = h.write_real_pack(tmp_path / "pack", size=32)
    expected = two_passes(tmp_path, root, pack)
    summary, got = one_pass(tmp_path, root, pack)
    assert got == expected  # records, errors, thumbnails (bytes), run records, exact scores
    for name, words in bad.items():
        assert words in got["files"][name][1]
    assert summary.scan.errors == len(bad) and summary.tags.failed == []
    assert summary.tags.tagged == len(got["runs"]) == 9


def test_generated_images_give_the_two_pass_result(tmp_path, make_image) -> None:
    root = tmp_path / "gen"
    rng = np.random.default_rng(3)
    for i in range(12):
        size = (int(rng.integers(200, 900)), int(rng.integers(150, 700)))
        fmt = "JPEG" if i % 2 else "PNG"
        make_image(root / f"{i:02d}.{fmt.lower()}", size=size, seed=i, format=fmt)
    # large JPEGs: decoded at a DCT scale (1/4 for the thumbnail), both ways the same one
    for i, size in enumerate([(1600, 1200), (1200, 1600), (2400, 900)]):
        art(root / f"big{i}.jpg", size, seed=20 + i)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated: the model sees it upright both ways
    art(root / "turned.jpg", (1400, 1000), seed=30, exif=exif)
    # the same content twice: one image, decoded once, tagged once; and a near-duplicate
    (root / "copy.png").write_bytes((root / "00.png").read_bytes())
    with Image.open(root / "big0.jpg") as im:
        im.save(root / "big0-again.jpg", quality=70)
    pack = h.write_real_pack(tmp_path / "pack", size=32)
    expected = two_passes(tmp_path, root, pack)
    summary, got = one_pass(tmp_path, root, pack, batch_size=3)
    assert got == expected  # every file, error, thumbnail byte, hash, group and exact score
    assert summary.tags.tagged == 17 and len(got["phash"]) == 17
    pair = {content_hash(root / "big0.jpg"), content_hash(root / "big0-again.jpg")}
    assert any(pair <= group for group in got["groups"])  # a near-duplicate, found both ways


def test_a_larger_pack_input_than_the_thumbnail_needs_gives_the_same_scores(
    tmp_path, make_image
) -> None:
    root = tmp_path / "gen"
    for i, size in enumerate([(1600, 1200), (900, 1300), (640, 480)]):
        art(root / f"{i}.jpg", size, seed=i)
    pack = h.write_real_pack(tmp_path / "pack", size=320)  # finer than the thumbnail's scale
    expected = two_passes(tmp_path, root, pack)
    _, got = one_pass(tmp_path, root, pack)
    assert got["preds"] == expected["preds"] and got["runs"] == expected["runs"]
    assert got["files"] == expected["files"]


def test_each_new_file_is_read_and_decoded_once_and_known_files_not_at_all(
    tmp_path, make_image, monkeypatch
) -> None:
    from animesion_desktop.core.scan import decode, hashing, probe
    from animesion_desktop.core.tagging import decode as tag_decode

    root = tmp_path / "art"
    for i in range(6):
        make_image(root / f"{i}.jpg", size=(640, 480), seed=i, format="JPEG")
    reads: list[bytes] = []
    opens: list[object] = []
    real_read, real_open = hashing.read_and_hash, decode.open_image

    def read(path, size_hint):
        reads.append(path)
        return real_read(path, size_hint)

    def opened(source, **kw):
        opens.append(source)
        return real_open(source, **kw)

    monkeypatch.setattr(probe, "read_and_hash", read)
    monkeypatch.setattr(probe, "open_image", opened)
    monkeypatch.setattr(tag_decode, "open_lazily", opened)
    pack = h.write_real_pack(tmp_path / "pack", size=32)
    with open_with_pack(tmp_path / "one.sqlite", pack) as lib:
        summary = run_to_end(index_and_tag(lib, [root], threading.Event(), device="cpu"))
        assert summary.tags.tagged == 6 and summary.scan.new == 6
        assert len(reads) == 6 and len(opens) == 6
        reads.clear()
        opens.clear()
        again = run_to_end(index_and_tag(lib, [root], threading.Event(), device="cpu"))
        assert again.scan.unchanged == 6 and again.tags.tagged == 0
        assert reads == [] and opens == []


def test_without_an_active_pack_it_is_the_plain_scan(tmp_path, make_image, capsys) -> None:
    root = tmp_path / "art"
    make_image(root / "a.png")
    db = tmp_path / "lib.sqlite"
    assert main(["--library", str(db), "scan", "--tag", str(root)]) == 0
    assert "no pack is active" in capsys.readouterr().out
    h.write_real_pack(tmp_path / "pack", size=32)
    with Library.open(db) as lib:
        packs_registry.install(lib, tmp_path / "pack")
    make_image(root / "b.png", seed=2)
    assert main(["--library", str(db), "scan", "--tag", "--device", "cpu", str(root)]) == 0
    out = capsys.readouterr().out
    assert "1 new" in out and "tagged 2 images" in out  # b in the pass, a by the closing run


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_pass_resumes_to_the_full_result(tmp_path: Path) -> None:
    n = 600  # the scan commits 200 records a batch: the kill lands before the last
    db = tmp_path / "lib.sqlite"
    root = tmp_path / "pics"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(root / f"{i:03d}.png")
    with Library.open(db) as lib:
        packs_registry.install(lib, h.write_real_pack(tmp_path / "src", name="slowish"))
    seen, _ = h.sigkill_after_first_run(db, tmp_path, "pass", "scan", "--tag", "--batch-size", "1",
                                        "--device", "cpu", str(root))
    with Library.open(db) as lib:
        assert lib.integrity_check() == "ok"
        done = h.committed_runs(db)
        assert seen <= done < n
        summary = run_to_end(index_and_tag(lib, [root], threading.Event(), device="cpu"))
        assert summary.tags.tagged == n - done and summary.tags.failed == []
        after = state(lib)
    assert len(after["files"]) == n and all(f[0] == "ok" for f in after["files"].values())
    assert len(after["runs"]) == n and len(after["preds"]) == n and len(after["thumbs"]) == n


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_at_a_committed_batch_resumes_to_the_two_pass_result(tmp_path: Path) -> None:
    """``kill -9`` while paused right after the first batch of file records is committed
    (crashpoints: ``indexing:committed``), with samples fed and predictions in flight; the
    next pass leaves exactly what scan-then-tag leaves."""
    n = 230  # the scan commits at most 200 records a batch: the pause comes before the last
    root = tmp_path / "pics"
    rng = np.random.default_rng(1)
    root.mkdir()
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(
            root / f"{i:03d}.{'jpg' if i % 3 else 'png'}")
    pack = h.write_real_pack(tmp_path / "src", name="kill")
    # fp32 both ways (auto would switch to int8 after 64 images, at a point that differs) and
    # one image a batch: torch's fp32 convolutions round by the last bit differently with
    # the batch's size and neighbours, and the resumed pass batches differently
    expected = two_passes(tmp_path, root, pack, precision="fp32", batch_size=1)
    db = tmp_path / "one.sqlite"
    open_with_pack(db, pack).close()
    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-m", "animesion_desktop", "--library", str(db), "scan", "--tag",
         "--precision", "fp32", "--batch-size", "1", "--device", "cpu", str(root)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "ANIMESION_PAUSE_AT": "indexing:committed",
             "ANIMESION_PAUSE_FILE": str(marker)},
    )
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert proc.poll() is None, f"ended before its pause point: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "never reached its pause point"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    with Library.open(db) as lib:
        assert lib.integrity_check() == "ok"
        with lib.read() as s:
            recorded = s.connection().exec_driver_sql("SELECT COUNT(*) FROM files").scalar()
        assert 0 < recorded < n  # the first batch is in, the rest is not
        summary = run_to_end(index_and_tag(lib, [root], threading.Event(), device="cpu",
                                           precision="fp32", batch_size=1))
        assert summary.scan.new == n - recorded and summary.tags.failed == []
        got = state(lib)
    assert got == expected
