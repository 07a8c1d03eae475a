"""File ▸ Add folder with a pack active is one job: each new file's thumbnail, perceptual hash
and predictions all land from that job (the one-pass ``index_and_tag``), and no separate
tagging job follows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tagging_kit
from PIL import Image
from PySide6.QtWidgets import QFileDialog, QMessageBox
from sqlalchemy import text

from animesion_desktop.core.indexing import OnePassSummary
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import thumbnail_path
from animesion_desktop.core.tagging import packs_registry

T = 60_000


def rows(lib: Library, sql: str) -> list[tuple]:
    with lib.read() as s:
        return [tuple(r) for r in s.execute(text(sql))]


def test_add_folder_thumbnails_and_tags_in_one_job(qtbot, ui, tmp_path: Path,
                                                    monkeypatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, msg, *a: shown.append(msg))
    folder = tmp_path / "new art"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        pixels = rng.integers(0, 255, (300 + 40 * i, 400, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.{'png' if i == 4 else 'jpg'}")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a picture")
    asked: list[str] = []

    def choose(*args, **kwargs) -> str:  # the user picks the folder in the dialog
        asked.append(str(args[1] if len(args) > 1 else ""))
        return str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", choose)
    lib = Library.open(tmp_path / "lib.sqlite")
    window = None
    try:
        packs_registry.install(lib, tagging_kit.write_real_pack(tmp_path / "pack", size=32))
        window = ui.open_window(qtbot, lib)
        ran: list[tuple[str, object]] = []
        window.lanes.jobs.finished.connect(lambda job, summary: ran.append((job.title, summary)))
        window.menus.act_add.trigger()  # File ▸ Add folder…
        qtbot.waitUntil(lambda: bool(ran), timeout=T)
        ui.settle(qtbot, window)
        assert asked and shown == []
        ((title, summary),) = ran  # one job, and nothing queued after it
        assert title == f"Add folder {folder}" and window.lanes.jobs.queued == []
        assert isinstance(summary, OnePassSummary)
        assert (summary.scan.new, summary.scan.errors, summary.tags.tagged) == (5, 1, 5)
        images = rows(lib, "SELECT id, hash FROM images")
        assert len(images) == 5
        assert all(thumbnail_path(lib.location.thumbs_dir, h).is_file() for _, h in images)
        assert rows(lib, "SELECT COUNT(*), COUNT(error) FROM inference_runs") == [(5, 0)]
        assert rows(lib, "SELECT COUNT(DISTINCT image_id) FROM predictions") == [(5,)]
        assert rows(lib, "SELECT COUNT(*) FROM image_phash") == [(5,)]
        qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=T)  # in the grid
        assert "tagged 5 images" in window.statusBar().currentMessage()
    finally:
        if window is not None:
            window.close()  # stops the watcher and the lanes before the library closes
        lib.close()
