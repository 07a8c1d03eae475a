"""Killing ``animesion tag`` (SIGKILL, mid-run) leaves a library that opens and resumes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tagging_kit as h  # registered by tests/core/conftest.py
from PIL import Image

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging import packs_registry, tag_images

N_IMAGES = 200


def committed_runs(db: Path) -> int:
    """Count run records through a read-only connection of our own (never the app's)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM inference_runs").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the library is still being created


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_run_leaves_a_library_that_opens_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite"
    root = tmp_path / "pics"
    root.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for i in range(N_IMAGES):
        path = root / f"{i:03d}.png"
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    with Library.open(db) as lib:
        h.add_files(lib, root, paths)
        # at batch size 1 the run takes long enough for the kill to land mid-run
        pack = h.write_real_pack(tmp_path / "src", name="slowish")
        packs_registry.install(lib, pack)

    proc = subprocess.Popen(
        [sys.executable, "-m", "animesion_desktop", "--library", str(db), "tag",
         "--batch-size", "1", "--device", "cpu"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        seen = 0
        while time.monotonic() < deadline and proc.poll() is None:
            seen = committed_runs(db)
            if seen >= 1:
                break
            time.sleep(0.01)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()}"
        assert seen >= 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    with Library.open(db) as lib:
        assert lib.integrity_check() == "ok"
        with lib.read() as s:
            done = s.connection().exec_driver_sql("SELECT COUNT(*) FROM inference_runs").scalar()
        assert seen <= done < N_IMAGES
        summary = run_to_end(tag_images(lib, None, threading.Event(), device="cpu"))
        assert summary.runs[0].total == N_IMAGES - done
        assert summary.tagged == N_IMAGES - done and summary.failed == []
        with lib.read() as s:
            per_image = s.connection().exec_driver_sql(
                "SELECT i.id, (SELECT COUNT(*) FROM inference_runs r WHERE r.image_id = i.id), "
                "(SELECT COUNT(*) FROM predictions p WHERE p.image_id = i.id) FROM images i"
            ).all()
    assert len(per_image) == N_IMAGES
    assert all(runs == 1 and preds > 0 for _, runs, preds in per_image)
