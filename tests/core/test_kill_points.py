"""kill -9 in the middle of a scan, a watcher flush and ``packs install --replace``: the library
opens, ``PRAGMA integrity_check`` is ok, no label is lost, and the next run completes.

Deterministic: the real command runs with ``ANIMESION_PAUSE_AT`` naming a point in the code
(core/crashpoints.py); there it writes a marker file and waits, and the test kills it then.
No timing decides anything; the timeouts only keep a broken run from hanging the suite.
"""

from __future__ import annotations

import os
import queue
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
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.core.tagging import packs_registry

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

TIMEOUT = 180.0  # a cold start imports torch; the machine is shared
N_NEW = 250  # more than one scanner batch (200 files)


def draw(folder: Path, n: int, seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"{seed}_{i:03d}.png"
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


class Paused:
    """A real ``animesion`` process that stops at ``point`` until killed."""

    def __init__(self, tmp_path: Path, db: Path, point: str, *args: str) -> None:
        self.marker = tmp_path / f"paused-{point.replace(':', '-')}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "ANIMESION_PAUSE_AT": point,
               "ANIMESION_PAUSE_FILE": str(self.marker)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "animesion_desktop", "--library", str(db), *args],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(x) for x in self.proc.stdout],
                         daemon=True).start()

    def output(self) -> str:
        out = []
        while not self.lines.empty():
            out.append(self.lines.get())
        return "".join(out)

    def wait_line(self, words: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if words in self.lines.get(timeout=0.1):
                    return
            except queue.Empty:
                continue
        pytest.fail(f"no {words!r} from the command: {self.output()}")

    def kill_when_paused(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not self.marker.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"the command never reached its pause point: {self.output()}")
            time.sleep(0.02)
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=TIMEOUT) == -signal.SIGKILL

    def __enter__(self) -> Paused:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def labelled_library(tmp_path: Path) -> tuple[Path, Path, dict[int, list]]:
    """A scanned library with user decisions on its images; returns (db, root, labels)."""
    db, root = tmp_path / "lib.sqlite", tmp_path / "art"
    draw(root, 5, seed=1)
    with Library.open(db) as lib:
        lib.add_root(root)
        run_to_end(scan_roots(lib, [root], threading.Event()))
        ids = sorted(lib.image_for_path(p) for p in root.iterdir())
        lib.set_label(ids[:3], "character:alice", "accepted")
        lib.set_label(ids[2:], "hat", "rejected")
        return db, root, {i: lib.labels(i) for i in ids}


def check_after_kill(db: Path, labels: dict[int, list]) -> Library:
    lib = Library.open(db)
    assert lib.integrity_check() == "ok"
    assert {i: lib.labels(i) for i in labels} == labels
    return lib


def indexed(lib: Library) -> int:
    with lib.read() as s:
        return int(s.connection().exec_driver_sql(
            "SELECT COUNT(*) FROM files WHERE status = 'ok' AND image_id IS NOT NULL").scalar())


def check_the_next_scan_completes(db: Path, root: Path, labels: dict[int, list]) -> None:
    """After a kill while new files were being recorded: some of them are, and the next scan
    records exactly the rest, with every label kept."""
    with check_after_kill(db, labels) as lib:
        recorded = indexed(lib)
        assert 5 < recorded < 5 + N_NEW
        summary = run_to_end(scan_roots(lib, [root], threading.Event()))
        assert summary.new == 5 + N_NEW - recorded and summary.errors == 0
        assert indexed(lib) == 5 + N_NEW
        assert {i: lib.labels(i) for i in labels} == labels


def test_kill_during_a_scan(tmp_path: Path) -> None:
    db, root, labels = labelled_library(tmp_path)
    draw(root / "new", N_NEW, seed=2)
    with Paused(tmp_path, db, "indexing:committed", "scan", str(root)) as run:
        run.kill_when_paused()  # a batch recorded, the next one not yet
    check_the_next_scan_completes(db, root, labels)


def test_kill_during_a_watcher_flush(tmp_path: Path) -> None:
    db, root, labels = labelled_library(tmp_path)
    incoming = tmp_path / "incoming"
    draw(incoming, N_NEW, seed=3)
    with Paused(tmp_path, db, "watching:committed", "watch", "--no-scan",
                "--quiet-seconds", "0.1", str(root)) as run:
        run.wait_line("watching")
        os.rename(incoming, root / "incoming")  # one event: a folder of 250 images moved in
        run.kill_when_paused()
    check_the_next_scan_completes(db, root, labels)


@pytest.mark.parametrize("point", ["packs:staged", "packs:committed"])
def test_kill_during_packs_install_replace(tmp_path: Path, point: str) -> None:
    from models.pack import load_pack

    db, root, labels = labelled_library(tmp_path)
    old = h.write_real_pack(tmp_path / "old", name="tiny", seed=0)
    new = h.write_real_pack(tmp_path / "new", name="tiny", seed=1)
    with Library.open(db) as lib:
        packs_registry.install(lib, old)
    assert main(["--library", str(db), "tag", "--device", "cpu"]) == 0
    with Paused(tmp_path, db, point, "packs", "install", str(new), "--replace") as run:
        run.kill_when_paused()
    expected = packs_registry.weights_sha256(old if point == "packs:staged" else new)
    with check_after_kill(db, labels) as lib:
        (pack,) = packs_registry.list_packs(lib)
        folder = packs_registry.resolve_pack_path(lib, pack.name, pack.path)
        sha = packs_registry.pack_details(lib, "tiny")["sha256"]
        assert sha == expected == packs_registry.weights_sha256(folder)  # row and files agree
        assert load_pack(folder).name == "tiny"
    # the next run completes, and clears what the killed one left behind
    assert main(["--library", str(db), "packs", "install", str(new), "--replace"]) == 0
    assert main(["--library", str(db), "tag", "--device", "cpu"]) == 0
    with Library.open(db) as lib:
        (pack,) = packs_registry.list_packs(lib)
        assert packs_registry.weights_sha256(pack.path) == packs_registry.weights_sha256(new)
        assert pack.images == 5
        assert [p.name for p in lib.location.packs_dir.iterdir()] == [pack.path.name]
        assert {i: lib.labels(i) for i in labels} == labels
