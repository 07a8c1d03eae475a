"""The full-size viewer, opened and driven with real keys, clicks and wheel events."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from animesion_desktop.core.library import Library
from animesion_desktop.ui.viewer import STEP

T = 15_000
SIZES = {"big": (1800, 1200), "wide": (900, 300), "small": (120, 90)}


@pytest.fixture
def lib(tmp_path: Path):
    from animesion_desktop.core.jobs import run_to_end
    from animesion_desktop.core.scan import scan_roots

    pics = tmp_path / "pics"
    pics.mkdir()
    for n, (name, size) in enumerate(SIZES.items()):
        Image.new("RGB", size, (40 * n, 200, 90)).save(pics / f"{name}.png")
    library = Library.open(tmp_path / "lib.sqlite")
    library.add_root(pics)
    run_to_end(scan_roots(library, [pics], threading.Event()))
    yield library
    library.close()


def row_of(window, name: str) -> int:
    from animesion_desktop.ui.image_model import PATH_ROLE

    for row in range(window.model.rowCount()):
        path = window.model.index(row).data(PATH_ROLE)
        if path and Path(path).stem == name:
            return row
    raise AssertionError(f"{name} is not in the grid")


@pytest.fixture
def window(qtbot, ui, lib):
    window = ui.open_window(qtbot, lib)
    qtbot.waitUntil(lambda: window.model.index(0).data(Qt.ItemDataRole.UserRole + 3)
                    is not None, timeout=T)
    return window


def open_with_space(qtbot, ui, window, row: int):
    image_id = window.model.image_id(row)
    ui.click_image(qtbot, window, image_id)
    with qtbot.waitSignal(window.modes.viewer.shown, timeout=T) as blocker:
        qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    assert blocker.args == [image_id]
    return window.modes.viewer.viewer


def double_click(qtbot, widget, pos=None) -> None:
    """What a real double-click delivers: press, release, then the double-click event
    (QTest's mouseDClick alone sends only the last, which item views ignore)."""
    pos = widget.rect().center() if pos is None else pos
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(widget, Qt.MouseButton.LeftButton, pos=pos)


def wheel(widget, notches: int, ctrl: bool) -> None:
    mods = Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_space_opens_the_image_at_full_size_and_keys_zoom(qtbot, ui, window) -> None:
    viewer = open_with_space(qtbot, ui, window, row_of(window, "big"))
    view = viewer.view
    assert (view.image.width(), view.image.height()) == SIZES["big"]  # not the thumbnail
    assert view.fitting and view.scale == pytest.approx(view.fit_scale()) and view.scale < 1
    qtbot.keyClick(viewer, Qt.Key.Key_1)
    assert view.scale == 1.0 and not view.fitting
    assert viewer.zoom_label.text() == "100 %"
    qtbot.keyClick(viewer, Qt.Key.Key_Plus)
    assert view.scale == pytest.approx(STEP)
    qtbot.keyClick(viewer, Qt.Key.Key_Minus)
    qtbot.keyClick(viewer, Qt.Key.Key_Minus)
    assert view.scale == pytest.approx(1 / STEP)
    wheel(view, 2, ctrl=True)
    assert view.scale == pytest.approx(STEP)
    before = view.target()
    wheel(view, -1, ctrl=False)  # the plain wheel pans the enlarged image
    assert view.scale == pytest.approx(STEP) and view.target().top() < before.top()
    qtbot.keyClick(viewer, Qt.Key.Key_F)
    assert view.fitting and view.scale == pytest.approx(view.fit_scale())
    qtbot.mouseClick(viewer.buttons["actual"], Qt.MouseButton.LeftButton)
    assert view.scale == 1.0
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert not viewer.isVisible()


def test_arrows_step_through_the_result_and_the_grid_follows(qtbot, ui, window) -> None:
    viewer = open_with_space(qtbot, ui, window, 0)
    model = window.model
    with qtbot.waitSignal(viewer.image_shown, timeout=T) as blocker:
        qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert blocker.args == [model.image_id(1)]
    assert window.grid.current_id() == model.image_id(1)
    assert window.selected_ids() == [model.image_id(1)]
    assert viewer.info.text().startswith("2 / 3")
    with qtbot.waitSignal(viewer.image_shown, timeout=T):
        qtbot.keyClick(viewer, Qt.Key.Key_Right)
    qtbot.keyClick(viewer, Qt.Key.Key_Right)  # the last image: nothing further
    assert viewer.image_id == model.image_id(2)
    with qtbot.waitSignal(viewer.image_shown, timeout=T) as blocker:
        qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert blocker.args == [model.image_id(1)]
    name = Path(viewer.info.text().split()[-2]).stem
    image = viewer.view.image
    assert (image.width(), image.height()) == SIZES[name]
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    assert not viewer.isVisible()


def test_double_click_on_a_grid_image_or_the_preview_opens_it(qtbot, ui, window) -> None:
    model, grid = window.model, window.grid
    row = row_of(window, "wide")
    rect = grid.visualRect(model.index(row))
    with qtbot.waitSignal(window.modes.viewer.shown, timeout=T) as blocker:
        double_click(qtbot, grid.viewport(), rect.center())
    assert blocker.args == [model.image_id(row)]
    viewer = window.modes.viewer.viewer
    assert (viewer.view.image.width(), viewer.view.image.height()) == SIZES["wide"]
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)

    other = model.image_id(row_of(window, "small"))
    ui.click_image(qtbot, window, other)
    assert window.detail.image_id == other
    with qtbot.waitSignal(window.modes.viewer.shown, timeout=T) as blocker:
        double_click(qtbot, window.detail.preview)
    assert blocker.args == [other]
    assert viewer.isVisible()
    assert (viewer.view.image.width(), viewer.view.image.height()) == SIZES["small"]
    assert viewer.view.scale == 1.0  # fit never enlarges
