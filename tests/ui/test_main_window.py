"""The window end to end on a real (small) library: search, select, review, undo."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.ui.main_window import MainWindow


@pytest.fixture
def lib(tmp_path: Path):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i, colour in enumerate(["red", "green", "blue", "yellow"]):
        Image.new("RGB", (64 + i, 48), colour).save(pics / f"{colour}.png")
    library = Library.open(tmp_path / "lib.sqlite")
    library.add_root(pics)
    run_to_end(scan_roots(library, [pics], threading.Event()))
    yield library
    library.close()


def test_search_select_accept_and_undo(qtbot, lib: Library) -> None:
    window = MainWindow(lib)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.grid_controller.searched, timeout=10_000):
        window.grid_controller.run_search("")
    assert window.model.rowCount() == 4
    assert "4 images" in window.count_label.text()

    window.grid.selectAll()
    assert len(window.selected_ids()) == 4
    with qtbot.waitSignal(window.labels.changed, timeout=10_000):
        window.detail.label_requested.emit("smiling", "accepted")
    assert all(lib.effective_tags(i) == [("general", "smiling")] for i in window.selected_ids())
    assert window.act_undo.isEnabled()

    with qtbot.waitSignal(window.grid_controller.searched, timeout=10_000):
        window.grid_controller.run_search("smiling")
    assert window.model.rowCount() == 4

    with qtbot.waitSignal(window.labels.changed, timeout=10_000):
        window.act_undo.trigger()
    assert all(lib.effective_tags(i) == [] for i in lib_ids(lib))


def test_malformed_query_is_shown_not_raised(qtbot, lib: Library) -> None:
    window = MainWindow(lib)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.grid_controller.search_failed, timeout=10_000) as failed:
        window.grid_controller.run_search("blue_hair (red_hair")
    assert "1" in failed.args[0] or "paren" in failed.args[0]
    assert window.search_bar.toolTip() == failed.args[0]


def test_thumbnails_arrive_in_the_grid(qtbot, lib: Library) -> None:
    window = MainWindow(lib)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.grid_controller.searched, timeout=10_000):
        window.grid_controller.run_search("")
    qtbot.waitUntil(lambda: len(window.model._thumbs) == 4, timeout=10_000)


def lib_ids(lib: Library) -> list[int]:
    from animesion_desktop.core.search import search

    return search(lib, "", limit=None).ids


def test_watcher_brings_new_files_into_the_grid(qtbot, lib: Library) -> None:
    window = MainWindow(lib)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.grid_controller.searched, timeout=10_000):
        window.grid_controller.run_search("")
    assert window.model.rowCount() == 4
    window.watch.restart()
    qtbot.waitUntil(lambda: window.watch._watcher is not None, timeout=10_000)
    root = lib.roots()[0].path
    Image.new("RGB", (30, 30), "purple").save(root / "new.png")
    # The watcher debounces, indexes, and the window refreshes the search; no pack is installed,
    # so tagging the arrival fails quietly in the status bar rather than in a dialog.
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=30_000)
    window.close()
    assert window.watch._watcher is None
