"""The window end to end on a real (small) library: search, select, review, undo."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt

from animesion_desktop.core.library import Library


def test_search_select_accept_and_undo(qtbot, ui, lib: Library) -> None:
    window = ui.open_window(qtbot, lib)
    assert window.model.rowCount() == 4
    assert "4 images" in window.count_label.text()

    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # select all
    ui.settle(qtbot, window)
    assert len(window.selected_ids()) == 4
    ui.add_tags(qtbot, window, "smiling")
    ui.settle(qtbot, window)
    assert all(lib.effective_tags(i) == [("general", "smiling")] for i in window.selected_ids())
    assert window.act_undo.isEnabled()

    qtbot.mouseClick(window.search_bar, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(window.search_bar, "smiling")
    qtbot.keyClick(window.search_bar, Qt.Key.Key_Return)
    ui.settle(qtbot, window)
    assert window.model.rowCount() == 4

    window.act_undo.trigger()
    ui.settle(qtbot, window)
    assert all(lib.effective_tags(i) == [] for i in window.model.ids)


def test_malformed_query_is_shown_not_raised(qtbot, ui, lib: Library) -> None:
    window = ui.open_window(qtbot, lib)
    with qtbot.waitSignal(window.grid_controller.search_failed, timeout=10_000) as failed:
        qtbot.keyClicks(window.search_bar, "blue_hair (red_hair")
        qtbot.keyClick(window.search_bar, Qt.Key.Key_Return)
    assert "1" in failed.args[0] or "paren" in failed.args[0]
    assert window.search_bar.toolTip() == failed.args[0]


def test_thumbnails_arrive_in_the_grid(qtbot, ui, lib: Library) -> None:
    window = ui.open_window(qtbot, lib)
    qtbot.waitUntil(lambda: len(window.model._thumbs) == 4, timeout=10_000)


def test_watcher_brings_new_files_into_the_grid(qtbot, ui, lib: Library) -> None:
    window = ui.open_window(qtbot, lib)
    assert window.model.rowCount() == 4
    window.watch.sync()
    qtbot.waitUntil(lambda: window.watch.watcher is not None, timeout=10_000)
    root = lib.roots()[0].path
    Image.new("RGB", (30, 30), "purple").save(root / "new.png")
    # The watcher debounces, indexes, and the window refreshes the search; no pack is installed,
    # so tagging the arrival fails quietly in the status bar rather than in a dialog.
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=30_000)
    window.close()
    assert window.watch.watcher is None
