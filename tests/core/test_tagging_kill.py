"""Killing ``animesion tag`` (SIGKILL, mid-run) leaves a library that opens and resumes."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import numpy as np
import pytest
import tagging_kit as h
from PIL import Image

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging import packs_registry, tag_images

N_IMAGES = 200


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

    seen, returncode = h.sigkill_after_first_run(db, tmp_path, "run", "tag", "--batch-size", "1",
                                                 "--device", "cpu")
    assert seen >= 1
    assert returncode == -signal.SIGKILL

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
