"""The window's menus, grid context menu, review mode and welcome page, through real widgets."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QDesktopServices, QGuiApplication

from animesion_desktop.core.library import Library
from animesion_desktop.ui.main_window import MainWindow
from animesion_desktop.ui.modes import GRID, REVIEW

T = 15_000
pytestmark = pytest.mark.filterwarnings("ignore:Function. .QDragEnterEvent:DeprecationWarning")


def labels(lib: Library, image_id: int) -> dict[str, str]:
    return {f"{c}:{n}": st for c, n, st, _src, _at in lib.labels(image_id)}


@pytest.fixture
def window(qtbot, review_lib):
    lib, _ids = review_lib
    window = MainWindow(lib)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.grid_controller.searched, timeout=T):
        window.grid_controller.run_search("")
    qtbot.waitUntil(lambda: window.lanes.idle(), timeout=T)
    return window


def test_menu_bar_and_standard_shortcuts(window) -> None:
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "&View", "&Library", "&Models", "&Help"]
    m = window.menus
    assert m.act_add.shortcut().matches(Qt.Modifier.CTRL | Qt.Key.Key_O).name == "ExactMatch"
    assert window.act_undo in m.edit.actions()
    assert m.act_select_all.shortcut().toString() == "Ctrl+A"
    assert window.modes.mode == GRID


def test_review_mode_from_the_menu_shares_the_undo_stack(qtbot, window, review_lib) -> None:
    lib, ids = review_lib
    window.menus.act_review.trigger()
    assert window.modes.mode == REVIEW
    page = window.modes.review
    qtbot.waitUntil(lambda: page.controller.current is not None, timeout=T)
    assert page.controller.current_id == ids[1]
    with qtbot.waitSignal(page.controller.written, timeout=T):
        qtbot.keyClick(page.canvas, Qt.Key.Key_A)
    assert labels(lib, ids[1]) == {"character:bob": "accepted"}
    with qtbot.waitSignal(page.controller.written, timeout=T):
        window.act_undo.trigger()  # Edit ▸ Undo undoes a review decision too
    assert labels(lib, ids[1]) == {}
    with qtbot.waitSignal(page.controller.written, timeout=T):
        qtbot.keyClick(page.canvas, Qt.Key.Key_R)
    # back on the grid, it catches up with what review mode decided
    with qtbot.waitSignal(window.grid_controller.refreshed, timeout=T):
        qtbot.keyClick(page.canvas, Qt.Key.Key_Escape)
    assert window.modes.mode == GRID


def test_grid_context_menu(qtbot, window, review_lib, monkeypatch) -> None:
    lib, ids = review_lib
    row = window.model.row_for(ids[4])
    index = window.model.index(row)
    qtbot.waitUntil(lambda: index.data(Qt.ItemDataRole.UserRole + 3) is not None, timeout=T)
    menu = window.menus.grid_menu(index)
    actions = {a.text(): a for a in menu.actions() if a.text()}
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    actions["Copy path"].trigger()
    assert QGuiApplication.clipboard().text().endswith("004_red.png")
    actions["Open with the default application"].trigger()
    actions["Reveal in the file manager"].trigger()
    assert opened == [QGuiApplication.clipboard().text(),
                      str(Path(QGuiApplication.clipboard().text()).parent)]
    with qtbot.waitSignal(window.labels.changed, timeout=T):
        actions["Accept the top character"].trigger()
    assert labels(lib, ids[4]) == {"character:alice": "accepted"}
    assert labels(lib, ids[0]) == {}  # only the image under the pointer (nothing selected)
    with qtbot.waitSignal(window.grid_controller.searched, timeout=T) as searched:
        actions["Find near-duplicates"].trigger()
    assert searched.args[0] == f"duplicate:{ids[4]}"
    with qtbot.waitSignal(window.grid_controller.searched, timeout=T):
        window.grid_controller.run_search("")

    window.grid.selectAll()
    menu = window.menus.grid_menu(index)
    reject = next(a for a in menu.actions() if a.text().startswith("Reject the top character"))
    assert reject.text() == "Reject the top character on 5 images"
    with qtbot.waitSignal(window.labels.changed, timeout=T):
        reject.trigger()
    qtbot.waitUntil(lambda: window.lanes.idle(), timeout=T)
    assert labels(lib, ids[1]) == {"character:bob": "rejected"}
    assert labels(lib, ids[3]) == {}  # no character guess: nothing to reject


def test_the_context_menu_opens_on_right_click(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.grid.indexAt(QPoint(40, 40)).isValid(), timeout=T)
    window.grid.customContextMenuRequested.emit(QPoint(40, 40))
    assert window.menus.context_menu is not None
    window.menus.context_menu.close()


def test_packs_menu_opens_the_dialog(qtbot, window) -> None:
    window.menus.act_packs.trigger()
    dialog = window.menus.packs_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.model.rowCount() == 1, timeout=T)
    dialog.close()


def test_empty_library_shows_welcome_and_a_dropped_folder_is_added(
        qtbot, ui, tmp_path, welcome_window) -> None:
    window, lib = welcome_window, welcome_window.lib
    pics = tmp_path / "pics"
    pics.mkdir()
    for i, colour in enumerate(["red", "blue"]):
        Image.new("RGB", (40 + i, 30), colour).save(pics / f"{colour}.png")
    ui.drop_folder(qtbot, window, window.modes.welcome, pics)
    assert lib.image_count() == 2
    assert [r.path for r in lib.roots()] == [pics.resolve()]
    qtbot.waitUntil(lambda: window.modes.mode == GRID, timeout=T)
    window.close()
    qtbot.waitUntil(lambda: window.lanes.idle(), timeout=T)


def test_settings_dialog_persists_beside_the_library(qtbot, window, review_lib) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from animesion_desktop.core import settings as st

    lib, _ids = review_lib
    window.menus.act_settings.trigger()
    dialog = window.prefs.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=T)
    dialog.thumb.setValue(96)
    qtbot.mouseClick(dialog.watching, Qt.MouseButton.LeftButton)
    dialog.device.setCurrentText("cpu")
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    assert window.grid.iconSize().width() == 96
    saved, problems = st.load(lib.location.config_dir)
    assert problems == []
    assert (saved.thumbnail_size, saved.watching, saved.device) == (96, False, "cpu")
    assert str(lib.location.config_dir).startswith(str(lib.location.db_path.parent))

    window.resize(700, 520)  # inside the offscreen screen (800 wide), so nothing is clamped
    window.close()
    again = MainWindow(lib)
    qtbot.addWidget(again)
    assert again.grid.iconSize().width() == 96
    assert again.prefs.settings.window_geometry
    assert (again.size().width(), again.size().height()) == (700, 520)


def test_welcome_demo_button_opens_the_demo_library(qtbot, tmp_path, monkeypatch) -> None:
    from PySide6.QtCore import QProcess

    from animesion_desktop.ui.welcome import WelcomePage

    started: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(QProcess, "startDetached",
                        lambda program, args: started.append((program, args)) or (True, 1))
    demo = tmp_path / "demo.sqlite"
    assert not WelcomePage(demo).demo_button.isEnabled()  # no demo library: nothing to open
    Library.open(demo).close()
    lib = Library.open(tmp_path / "empty.sqlite")
    try:
        window = MainWindow(lib)
        qtbot.addWidget(window)
        page = WelcomePage(demo)
        page.demo_requested.connect(lambda p: window.modes.welcome.demo_requested.emit(p))
        qtbot.mouseClick(page.demo_button, Qt.MouseButton.LeftButton)
        assert started and started[0][1][-3:] == ["--library", str(demo), "gui"]
        window.close()
        qtbot.waitUntil(lambda: window.lanes.idle(), timeout=T)
    finally:
        lib.close()
