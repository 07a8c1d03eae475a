"""The grid's own controls through real widgets: thumbnail size, sort, keyboard navigation,
select all over the whole result, the unreadable/missing list with purge, removing a root."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from animesion_desktop.core import settings as st
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.core.search import search
from animesion_desktop.ui.main_window import MainWindow

T = 15_000


def open_window(qtbot, lib: Library, **kw) -> MainWindow:
    window = MainWindow(lib, **kw)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.grid_controller.searched, timeout=T):
        window.grid_controller.run_search("")
    qtbot.waitUntil(window.lanes.idle, timeout=T)
    return window


def grid_ids(window: MainWindow) -> list[int]:
    return [window.model.image_id(r) for r in range(window.model.rowCount())]


def test_thumbnail_slider_resizes_the_grid_and_is_kept(qtbot, review_lib) -> None:
    lib, _ids = review_lib
    window = open_window(qtbot, lib)
    slider = window.grid_bar.thumb_size
    assert slider.value() == 160 == window.grid.iconSize().width()
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)  # one page step: 4 x 16 px
    assert window.grid.iconSize().width() == 224
    assert window.grid.gridSize().width() > 224
    qtbot.keyClick(slider, Qt.Key.Key_Home)
    assert window.grid.iconSize().width() == 64
    window.close()
    saved, _problems = st.load(lib.location.config_dir)
    assert saved.thumbnail_size == 64
    again = open_window(qtbot, lib)
    assert again.grid.iconSize().width() == 64 == again.grid_bar.thumb_size.value()
    again.close()


def test_sort_by_confidence_and_back_and_it_is_kept(qtbot, review_lib) -> None:
    lib, ids = review_lib
    window = open_window(qtbot, lib)
    assert grid_ids(window) == ids[::-1]  # newest first
    combo = window.grid_bar.sort
    combo.setFocus()
    with qtbot.waitSignal(window.grid_controller.searched, timeout=T):
        while combo.currentData() != "confidence":
            qtbot.keyClick(combo, Qt.Key.Key_Down)
    qtbot.waitUntil(window.lanes.idle, timeout=T)
    # best character score: 0.9, 0.7, 0.6, 0.4, then the image without a character guess
    assert grid_ids(window) == [ids[0], ids[4], ids[2], ids[1], ids[3]]
    with qtbot.waitSignal(window.grid_controller.searched, timeout=T):
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentData() == "least_confident"
    assert grid_ids(window) == [ids[1], ids[2], ids[4], ids[0], ids[3]]
    window.close()
    again = open_window(qtbot, lib)
    assert again.grid_bar.sort.currentData() == "least_confident"
    assert grid_ids(again) == [ids[1], ids[2], ids[4], ids[0], ids[3]]
    again.close()


def test_keyboard_navigation_moves_the_current_image(qtbot, ui, review_lib) -> None:
    lib, ids = review_lib
    window = open_window(qtbot, lib)
    newest = ids[::-1]
    ui.click_image(qtbot, window, newest[0])
    grid = window.grid
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert grid.current_id() == newest[1]
    qtbot.keyClick(grid, Qt.Key.Key_End)
    assert grid.current_id() == newest[-1]
    qtbot.keyClick(grid, Qt.Key.Key_Home, Qt.KeyboardModifier.ShiftModifier)
    assert grid.selected_ids() == sorted(ids)
    qtbot.keyClick(grid, Qt.Key.Key_Left)  # at the first cell: stays
    assert grid.current_id() == newest[0]
    window.close()


def test_select_all_selects_the_whole_result_not_just_loaded_pages(qtbot, tmp_path) -> None:
    import tagging_kit as kit

    lib = Library.open(tmp_path / "lib.sqlite")
    try:
        root = tmp_path / "many"
        ids = kit.add_files(lib, root, [kit.make_image(root / f"{i:03d}.png", (i, 2 * i, 3))
                                        for i in range(80)])
        window = open_window(qtbot, lib, page_size=10)
        window.resize(700, 500)
        qtbot.waitUntil(window.lanes.idle, timeout=T)
        loaded = window.model.rowCount()
        assert loaded < 80 and not window.model.complete  # only what the screen needed
        window.grid.setFocus()
        qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: len(window.selected_ids()) == 80, timeout=T)
        assert window.selected_ids() == sorted(search(lib, "", limit=None).ids) == sorted(ids)
        assert window.model.complete
        # a batch action now counts the whole result
        menu = window.menus.grid_menu(window.model.index(0))
        assert any(a.text() == "Accept the top character on 80 images" for a in menu.actions())
        window.close()
        qtbot.waitUntil(window.lanes.idle, timeout=T)
    finally:
        lib.close()


@pytest.fixture
def problem_lib(tmp_path: Path):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i, colour in enumerate(["red", "green", "blue"]):
        Image.new("RGB", (30 + i, 30), colour).save(pics / f"{colour}.png")
    (pics / "broken.png").write_bytes(b"no picture here")
    lib = Library.open(tmp_path / "lib.sqlite")
    lib.add_root(pics)
    run_to_end(scan_roots(lib, [pics], threading.Event()))
    red = lib.image_for_path(pics / "red.png")
    lib.set_label([red], "character:alice", "accepted")
    (pics / "red.png").unlink()
    run_to_end(scan_roots(lib, [pics], threading.Event()))
    yield lib, pics, red
    lib.close()


def click_box_button(qtbot, box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text() == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_unreadable_and_missing_list_then_purge_after_asking(qtbot, qtmodeltester,
                                                             problem_lib) -> None:
    lib, pics, red = problem_lib
    window = open_window(qtbot, lib)
    assert window.problems.action in window.menus.library.actions()
    count = window.problems.count_button
    qtbot.waitUntil(count.isVisible, timeout=T)
    assert count.text() == "⚠ 1 unreadable file · 1 missing image"
    qtbot.mouseClick(count, Qt.MouseButton.LeftButton)  # the status bar's count opens the list
    dialog = window.problems.dialog
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=T)
    qtmodeltester.check(dialog.model)
    rows = {Path(r.path).name: r for r in dialog.model.rows}
    assert rows["broken.png"].status == "error" and rows["broken.png"].reason
    assert rows["red.png"].status == "missing"
    assert dialog.summary.text() == "1 unreadable file, 1 missing image"

    qtbot.mouseClick(dialog.purge_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.question is not None and dialog.question.isVisible(),
                    timeout=T)
    question = dialog.question.text()
    assert "Forget 1 missing file?" in question and "1 decision" in question
    click_box_button(qtbot, dialog.question, "Cancel")  # nothing is forgotten
    qtbot.waitUntil(window.lanes.idle, timeout=T)
    assert lib.labels(red)

    qtbot.mouseClick(dialog.purge_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.question.isVisible(), timeout=T)
    with qtbot.waitSignal(dialog.purged, timeout=T):
        click_box_button(qtbot, dialog.question, "Forget them")
    assert lib.image_for_path(pics / "red.png") is None
    assert lib.image_count() == 2
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=T)  # the unreadable one
    qtbot.waitUntil(lambda: count.text() == "⚠ 1 unreadable file", timeout=T)
    window.close()


def test_an_is_error_search_opens_the_list(qtbot, ui, problem_lib) -> None:
    lib, _pics, _red = problem_lib
    window = open_window(qtbot, lib)
    ui.search_for(qtbot, window, "is:error")
    qtbot.waitUntil(lambda: window.problems.dialog is not None
                    and window.problems.dialog.isVisible(), timeout=T)
    assert "unreadable" in window.count_label.text()
    window.close()


def test_remove_a_root_asks_with_counts_and_keeps_decisions(qtbot, qtmodeltester,
                                                            tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib.sqlite")
    try:
        roots = []
        for name, colours in (("keep", ["red", "green"]), ("drop", ["blue", "yellow"])):
            folder = tmp_path / name
            folder.mkdir()
            for i, colour in enumerate(colours):
                Image.new("RGB", (30 + i, 40), colour).save(folder / f"{colour}.png")
            lib.add_root(folder)
            roots.append(folder.resolve())
        run_to_end(scan_roots(lib, roots, threading.Event()))
        blue = lib.image_for_path(roots[1] / "blue.png")
        lib.set_label([blue], "character:alice", "accepted")
        window = open_window(qtbot, lib)
        bar = window.sidebar
        qtbot.waitUntil(lambda: bar.folders.topLevelItemCount() == 2, timeout=T)
        qtmodeltester.check(bar.folders.model())
        drop = next(bar.folders.topLevelItem(i) for i in range(2)
                    if bar.folders.topLevelItem(i).text(0) == "drop")
        rect = bar.folders.visualItemRect(drop)
        with qtbot.waitSignal(window.grid_controller.searched, timeout=T):
            qtbot.mouseClick(bar.folders.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseClick(bar.remove_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bar.question is not None and bar.question.isVisible(), timeout=T)
        text = bar.question.text()
        assert str(roots[1]) in text and "2 files" in text and "2 images" in text
        assert "1 of them carries decisions (1 label" in text
        with qtbot.waitSignal(bar.root_removed, timeout=T) as removed:
            click_box_button(qtbot, bar.question, "Remove")
        assert "1 image with 1 decision kept" in removed.args[0]
        assert [r.path for r in lib.roots()] == [roots[0]]
        assert lib.labels(blue)  # kept: it comes back with the folder
        qtbot.waitUntil(lambda: bar.folders.topLevelItemCount() == 1, timeout=T)
        qtbot.waitUntil(window.lanes.idle, timeout=T)
        window.close()
    finally:
        lib.close()


def test_splitters_and_geometry_are_restored(qtbot, review_lib) -> None:
    lib, _ids = review_lib
    window = open_window(qtbot, lib)
    window.resize(760, 560)
    split = window.sidebar.parentWidget()
    split.setSizes([150, 400, 200])
    sizes = split.sizes()
    window.close()
    again = open_window(qtbot, lib)
    assert again.sidebar.parentWidget().sizes() == sizes
    assert (again.width(), again.height()) == (760, 560)
    again.close()


def test_welcome_page_install_pack_opens_the_packs_dialog(qtbot, welcome_window) -> None:
    window = welcome_window
    welcome = window.modes.welcome
    assert welcome.add_button.isVisible() and welcome.pack_button.isVisible()
    qtbot.mouseClick(welcome.pack_button, Qt.MouseButton.LeftButton)
    dialog = window.menus.packs_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible(), timeout=T)
    dialog.close()
    window.close()
    qtbot.waitUntil(window.lanes.idle, timeout=T)


@pytest.mark.filterwarnings("ignore:Function. .QDragEnterEvent:DeprecationWarning")
def test_a_folder_dropped_on_the_grid_window_is_added(qtbot, ui, lib: Library,
                                                       tmp_path: Path) -> None:
    # (a library with no active pack: adding a folder only scans it)
    window = open_window(qtbot, lib)
    more = tmp_path / "more"
    more.mkdir()
    Image.new("RGB", (33, 44), "purple").save(more / "p.png")
    ui.drop_folder(qtbot, window, window, more)
    assert more.resolve() in [r.path for r in lib.roots()]
    assert lib.image_for_path(more / "p.png") is not None
    qtbot.waitUntil(window.lanes.idle, timeout=T)
    window.close()
