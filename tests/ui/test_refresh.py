"""Refreshes keep the user's place; only the newest request's answer is shown; paging goes on."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.core.views import GridRow
from animesion_desktop.ui.image_model import PATH_ROLE, ImageListModel


@pytest.fixture
def big_lib(tmp_path: Path, ui):
    library = ui.make_library(tmp_path, [f"#{i * 5:02x}{255 - i * 5:02x}80" for i in range(40)])
    yield library
    library.close()


def rescan(qtbot, ui, window) -> None:
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        window.act_scan.trigger()
    ui.settle(qtbot, window)


def test_a_refresh_keeps_selection_current_image_and_scroll(qtbot, ui, big_lib: Library) -> None:
    """Defect b: a refresh used to reset the model, dropping the selection silently."""
    window = ui.open_window(qtbot, big_lib)
    window.resize(700, 500)
    ui.settle(qtbot, window)
    assert window.model.rowCount() == 40
    ids = window.model.ids
    ui.click_image(qtbot, window, ids[30])
    ui.click_image(qtbot, window, ids[31], Qt.KeyboardModifier.ControlModifier)
    bar = window.grid.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() // 2)
    top = window.grid.top_id()
    assert top is not None and top != ids[0]
    selected, current = window.selected_ids(), window.grid.current_id()
    assert window.detail.image_id == current == ids[31]

    # Two new files: newest first, so they go in above everything.
    root = big_lib.roots()[0].path
    ui.add_images(root, ["new_a", "new_b"])
    rescan(qtbot, ui, window)

    assert window.model.rowCount() == 42
    assert window.model.ids[2:] == ids
    assert window.selected_ids() == selected
    assert window.grid.current_id() == current
    assert window.detail.image_id == current
    assert window.grid.top_id() == top
    # And the selection is live: a decision lands on both images.
    ui.add_tags(qtbot, window, "sky")
    ui.settle(qtbot, window)
    assert ui.user_labels(big_lib, window.model.ids) == {
        (selected[0], "sky"): "accepted", (selected[1], "sky"): "accepted"}


def test_a_refresh_is_a_diff_that_passes_the_model_tester(qtmodeltester, qapp) -> None:
    model = ImageListModel(32, page_size=10)
    model.reset(list(range(1, 11)), 10)
    model.add_rows(0, [GridRow(i, f"{i:064x}", f"/p/{i}.png", 1, 1, ()) for i in range(1, 11)])
    qtmodeltester.check(model)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    model.update([12, 1, 3, 2, 11, 5, 6, 7, 9, 10], 10)
    assert model.ids == [12, 1, 3, 2, 11, 5, 6, 7, 9, 10]
    assert resets == []
    qtmodeltester.check(model)


def test_renamed_files_and_new_tags_show_after_a_refresh(qtbot, ui, lib: Library) -> None:
    """Defect c: cached rows went stale (names, tooltips) and were never dropped."""
    window = ui.open_window(qtbot, lib)
    qtbot.waitUntil(lambda: "…" not in [window.model.index(r).data() for r in range(4)])
    names = {window.model.index(r).data() for r in range(4)}
    assert "red.png" in names
    root = lib.roots()[0].path
    (root / "red.png").rename(root / "crimson.png")
    rescan(qtbot, ui, window)
    qtbot.waitUntil(lambda: "crimson.png" in [window.model.index(r).data() for r in range(4)])
    assert "red.png" not in [window.model.index(r).data() for r in range(4)]
    # A decision made outside the window (`animesion label`, an import) shows after a refresh.
    image = window.model.image_id(0)
    lib.set_label([image], "sunset", "accepted", source="cli")
    rescan(qtbot, ui, window)
    qtbot.waitUntil(lambda: "sunset" in window.model.index(0).data(Qt.ItemDataRole.ToolTipRole))


def test_the_row_cache_is_bounded(qapp) -> None:
    model = ImageListModel(32, row_cache=10)
    model.reset(list(range(100)), 100)
    model.add_rows(0, [GridRow(i, f"{i:064x}", f"/p/{i}.png", 1, 1, ()) for i in range(100)])
    assert model.cached_rows == 10


def test_an_older_search_landing_late_is_dropped(qtbot, ui, lib: Library, slow_search) -> None:
    """Defect d: answers used to be shown in the order they landed."""
    window = ui.open_window(qtbot, lib)
    slow_search.hold("path:red*")
    ui.search_for(qtbot, window, "path:red*")
    qtbot.waitUntil(lambda: ("path:red*", 0) in slow_search.waiting)
    ui.search_for(qtbot, window, "path:blue*")
    qtbot.waitUntil(lambda: "match path:blue*" in window.count_label.text())
    slow_search.release("path:red*")
    ui.settle(qtbot, window)
    assert "match path:blue*" in window.count_label.text()
    assert [window.model.index(r).data(PATH_ROLE).rsplit("/", 1)[-1] for r in range(1)] == [
        "blue.png"]


def test_refresh_reruns_the_newest_requested_query(qtbot, ui, lib: Library, slow_search) -> None:
    """Defect d: a refresh reran the last *completed* query and could overwrite a newer one."""
    window = ui.open_window(qtbot, lib)
    slow_search.hold("path:green*")
    slow_search.hold("")
    ui.search_for(qtbot, window, "path:green*")
    qtbot.waitUntil(lambda: ("path:green*", 0) in slow_search.waiting)
    window.act_scan.trigger()  # a job finishes while the search is on its way: a refresh
    # Both held: the search and the refresh the finished job asked for.
    qtbot.waitUntil(lambda: len(slow_search.waiting) == 2 and not window.jobs.lane.busy)
    slow_search.release("path:green*")
    slow_search.release("")
    ui.settle(qtbot, window)
    assert window.model.rowCount() == 1
    assert "match path:green*" in window.count_label.text()


def test_paging_goes_on_past_a_page_of_duplicates(qtbot, ui, lib: Library, slow_search) -> None:
    """Defect l: a page that came back all duplicates (offsets shifted by new images) ended
    the paging, so the rest of the result never showed."""
    slow_search.hold("", pages=True)
    window = ui.open_window(qtbot, lib, wait=False, page_size=2)
    first = window.model.ids
    qtbot.waitUntil(lambda: ("", 2) in slow_search.waiting)  # the view asked for page two
    root = lib.roots()[0].path
    ui.add_images(root, ["new_a", "new_b"])  # newest first: everything shifts by two
    run_to_end(scan_roots(lib, [root], threading.Event()))
    slow_search.release("", pages=True)
    ui.settle(qtbot, window)
    qtbot.waitUntil(lambda: not window.model.canFetchMore())
    ui.settle(qtbot, window)
    everything = lib_ids(lib)
    assert len(everything) == 6
    old = [i for i in everything if i not in window.model.ids]
    assert window.model.ids[:2] == first
    assert len(window.model.ids) == 4 and len(old) == 2  # the two new ones wait for a refresh


def lib_ids(lib: Library) -> list[int]:
    from animesion_desktop.core.search import search

    return list(search(lib, "", limit=None).ids)


def test_a_new_search_does_not_leave_the_panel_on_an_unselected_image(
        qtbot, ui, lib: Library) -> None:
    """Defect b: a reset cleared the selection without selectionChanged, so the panel went on
    showing an image that Accept and Reject no longer reached."""
    window = ui.open_window(qtbot, lib)
    image = window.model.image_id(0)
    ui.click_image(qtbot, window, image)
    assert window.detail.image_id == image
    ui.search_for(qtbot, window, "path:*")
    ui.settle(qtbot, window)
    assert window.selected_ids() == []
    assert window.detail.image_id is None and window.detail.tag_texts() == []
