"""Typing ``character:mi`` in the search bar offers the matching characters (issue 8 g), even
when more than fifteen general tags containing "mi" are used more."""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.ui.main_window import MainWindow


def test_typing_a_category_prefix_offers_that_category(qtbot, tmp_path: Path) -> None:
    pics = tmp_path / "pics"
    pics.mkdir()
    lib = Library.open(tmp_path / "lib.sqlite")
    try:
        for i in range(6):
            Image.new("RGB", (16 + i, 16), "red").save(pics / f"{i}.png")
        lib.add_root(pics)
        run_to_end(scan_roots(lib, [pics], threading.Event()))
        ids = sorted(lib.image_for_path(p) for p in pics.iterdir())
        for i in range(20):
            lib.set_label(ids[:5], f"mi_general_{i:02d}", "accepted")
        lib.set_label(ids[5:], "character:misaka_mikoto", "accepted")

        window = MainWindow(lib)
        qtbot.addWidget(window)
        window.show()
        qtbot.keyClicks(window.search_bar, "character:mi")
        model = window.search_bar._model
        qtbot.waitUntil(lambda: model.stringList() != [], timeout=10_000)
        assert model.stringList() == ["character:misaka_mikoto"]
    finally:
        lib.close()
