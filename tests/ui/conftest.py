"""Driving the window as a user does: clicks on grid cells, keys on the tag list.

The suite runs in importlib mode, so test modules get these helpers through the ``ui`` fixture.
"""

from __future__ import annotations

import os

# No display on CI: every UI test renders offscreen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sys  # noqa: E402
import threading
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from animesion_desktop.core.library import Library  # noqa: E402

COLOURS = ["red", "green", "blue", "yellow"]


def make_library(tmp_path: Path, colours=COLOURS):
    from animesion_desktop.core.jobs import run_to_end
    from animesion_desktop.core.library import Library
    from animesion_desktop.core.scan import scan_roots

    pics = tmp_path / "pics"
    pics.mkdir()
    for i, colour in enumerate(colours):
        Image.new("RGB", (64 + i, 48), colour).save(pics / f"{colour}.png")
    library = Library.open(tmp_path / "lib.sqlite")
    library.add_root(pics)
    run_to_end(scan_roots(library, [pics], threading.Event()))
    return library


def settle(qtbot, window, timeout: int = 20_000) -> None:
    """Wait until nothing the window asked for is still on its way (no sleeping)."""
    qtbot.waitUntil(window.lanes.idle, timeout=timeout)


def open_window(qtbot, lib, wait: bool = True, **kwargs):
    from animesion_desktop.ui.main_window import MainWindow

    window = MainWindow(lib, **kwargs)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    with qtbot.waitSignal(window.grid_controller.searched, timeout=10_000):
        window.grid_controller.run_search("")
    if wait:
        settle(qtbot, window)
    return window


def open_review_page(qtbot, lib, timeout: int = 10_000):
    """Review mode's page on its own, shown, once its first queue has loaded."""
    from animesion_desktop.ui.review.page import ReviewPage

    page = ReviewPage(lib)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=timeout):
        page.reopen()
    return page


def drop_folder(qtbot, window, target, folder: Path) -> None:
    """Drag ``folder`` in from a file manager and drop it on ``target`` (the window or one of
    its pages); returns once the job that adds it has finished."""
    from PySide6.QtCore import QMimeData, QPoint, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    target.dragEnterEvent(enter)
    assert enter.isAccepted()
    with qtbot.waitSignal(window.jobs.finished, timeout=60_000):
        target.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                                    Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def click_image(qtbot, window, image_id: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    row = window.model.row_for(image_id)
    assert row is not None, f"image {image_id} is not in the grid"
    index = window.model.index(row)
    window.grid.scrollTo(index)
    rect = window.grid.visualRect(index)
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())
    settle(qtbot, window)


def pick_tag(qtbot, window, text: str) -> None:
    """Click the tag's line in the detail panel's list (gives the list the focus)."""
    tree = window.detail.tree
    items = tree.findItems(text, Qt.MatchFlag.MatchExactly, 0)
    assert items, f"{text} is not in the tag list: {window.detail.tag_texts()}"
    rect = tree.visualItemRect(items[0])
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert tree.currentItem() is items[0]


def add_tags(qtbot, window, text: str) -> None:
    line = window.detail.add_line
    qtbot.mouseClick(line, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def key(qtbot, widget, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(widget, k, modifier)


def undo_keys(qtbot, window) -> None:
    QTest.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def redo_keys(qtbot, window) -> None:
    QTest.keyClick(window.grid, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


def user_labels(lib: Library, image_ids) -> dict[tuple[int, str], str]:
    """(image, tag) -> state of every user decision, as the library holds it."""
    out = {}
    for i in image_ids:
        for category, name, state, _source, _at in lib.labels(i):
            out[(i, name if category == "general" else f"{category}:{name}")] = state
    return out


@pytest.fixture
def lib(tmp_path: Path):
    library = make_library(tmp_path)
    yield library
    library.close()


@pytest.fixture
def ui():
    return sys.modules[__name__]


class SlowSearch:
    """Stands in for the grid's search: calls matching a held (query, offset) wait for
    ``release``, so a test decides in which order answers land."""

    def __init__(self, monkeypatch) -> None:
        from animesion_desktop.core.search import search
        from animesion_desktop.ui import grid_controller

        self._real = search
        self._gates: dict[tuple[str, bool], threading.Event] = {}
        self.calls: list[tuple[str, int]] = []
        self.waiting: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        monkeypatch.setattr(grid_controller, "search", self)

    def hold(self, query: str, pages: bool = False) -> None:
        """Hold the first page of ``query`` (or, with ``pages``, the later pages)."""
        self._gates[(query, pages)] = threading.Event()

    def release(self, query: str, pages: bool = False) -> None:
        self._gates.pop((query, pages)).set()

    def __call__(self, lib, query, limit=None, offset=0, **kw):
        with self._lock:
            self.calls.append((query, offset))
        gate = self._gates.get((query, offset > 0))
        if gate is not None:
            with self._lock:
                self.waiting.append((query, offset))
            gate.wait(20)
            with self._lock:
                self.waiting.remove((query, offset))
        return self._real(lib, query, limit=limit, offset=offset, **kw)


@pytest.fixture
def slow_search(monkeypatch):
    return SlowSearch(monkeypatch)


def search_for(qtbot, window, text: str) -> None:
    bar = window.search_bar
    bar.clear()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton)
    if text:
        qtbot.keyClicks(bar, text)
    qtbot.keyClick(bar, Qt.Key.Key_Return)


def add_images(folder: Path, names) -> None:
    import zlib

    for name in names:  # content from the name: different names, different images
        seed = zlib.crc32(name.encode())
        size = (16 + seed % 50, 16 + (seed >> 8) % 50)
        Image.new("RGB", size, (seed % 256, (seed >> 8) % 256, (seed >> 16) % 256)).save(
            folder / f"{name}.png")


def click_image_no_settle(qtbot, window, image_id: int) -> None:
    """A click that does not wait for the lanes (a job may be running)."""
    row = window.model.row_for(image_id)
    assert row is not None
    index = window.model.index(row)
    rect = window.grid.visualRect(index)
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
