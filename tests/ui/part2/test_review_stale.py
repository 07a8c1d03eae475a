"""Review reads go through the read lane; an answer for an entry the reviewer has moved past
is dropped when it lands late, whatever it was (the image, the top-5, a read-ahead).

The character queue of review_lib is [image 1 (001_green), image 2 (002_blue), image 4
(004_red), image 0 (000_red)]. Gates hold chosen reads on their worker until released.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from animesion_desktop.ui.review import controller as ctl
from animesion_desktop.ui.review.page import ReviewPage

T = 10_000


class Gates:
    """Wraps a read function; a call whose key matches a held name waits for its release."""

    def __init__(self, real, key) -> None:  # type: ignore[no-untyped-def]
        self.real, self.key = real, key
        self.gates: dict[object, threading.Event] = {}
        self.finished: list[object] = []
        self._lock = threading.Lock()

    def hold(self, name: object) -> None:
        self.gates[name] = threading.Event()

    def release_all(self) -> None:
        for gate in self.gates.values():
            gate.set()

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = self.key(*args)
        gate = next((g for n, g in self.gates.items() if n == name), None)
        if gate is not None:
            gate.wait(20)
        result = self.real(*args, **kwargs)
        with self._lock:
            self.finished.append(name)
        return result


def _stem(paths) -> str:  # type: ignore[no-untyped-def]
    return paths[0].rsplit("/", 1)[-1].split("_")[0]  # "001" for .../001_green.png


@pytest.fixture
def decodes(monkeypatch):
    gates = Gates(ctl.decode, _stem)
    monkeypatch.setattr(ctl, "decode", gates)
    yield gates
    gates.release_all()


@pytest.fixture
def items(monkeypatch):
    gates = Gates(ctl.review_item, lambda _lib, image_id: image_id)
    monkeypatch.setattr(ctl, "review_item", gates)
    yield gates
    gates.release_all()


def idle(qtbot, page: ReviewPage) -> None:
    qtbot.waitUntil(lambda: page.controller.reads.pending == 0, timeout=T)


def test_a_late_image_for_an_image_moved_past_is_dropped(qtbot, ui, review_lib, decodes) -> None:
    lib, ids = review_lib
    decodes.hold("001")  # the first image's decode
    page = ui.open_review_page(qtbot, lib)
    c = page.controller
    qtbot.waitUntil(lambda: c.images.get(ids[2]) is not None, timeout=T)  # read ahead
    assert c.images.get(ids[1]) is None and page.canvas._pixmap is None
    qtbot.keyClick(page.canvas, Qt.Key.Key_J)
    assert c.current_id == ids[2] and page.canvas.image_id == ids[2]
    assert page.canvas._pixmap is not None  # painted at once from the read-ahead
    decodes.release_all()
    idle(qtbot, page)
    assert "001" in decodes.finished  # it did land...
    assert c.images.get(ids[1]) is None  # ...and was dropped
    assert page.canvas.image_id == ids[2] and page.canvas._pixmap is not None
    qtbot.keyClick(page.canvas, Qt.Key.Key_K)  # going back reads it again
    qtbot.waitUntil(lambda: c.images.get(ids[1]) is not None, timeout=T)
    qtbot.waitUntil(lambda: page.canvas.image_id == ids[1] and page.canvas._pixmap is not None,
                    timeout=T)


def test_a_late_top_five_for_an_image_moved_past_is_dropped(qtbot, ui, review_lib, items) -> None:
    lib, ids = review_lib
    items.hold(ids[1])
    page = ui.open_review_page(qtbot, lib)
    c = page.controller
    qtbot.waitUntil(lambda: c.item(ids[2]) is not None, timeout=T)  # read ahead
    assert c.current is None and not page.rows[0].isVisibleTo(page)
    qtbot.keyClick(page.canvas, Qt.Key.Key_Right)
    assert page.rows[0].button.text().endswith("carol")
    items.release_all()
    idle(qtbot, page)
    assert ids[1] in items.finished
    assert c.item(ids[1]) is None  # dropped
    assert page.rows[0].button.text().endswith("carol")  # still the image on screen
    with qtbot.waitSignal(c.written, timeout=T):
        qtbot.keyClick(page.canvas, Qt.Key.Key_A)
    assert {n: s for _c, n, s, _src, _at in lib.labels(ids[2])} == {"carol": "accepted"}
    assert list(lib.labels(ids[1])) == []


def test_a_late_read_ahead_keeps_only_what_is_still_ahead(qtbot, ui, review_lib, decodes) -> None:
    lib, ids = review_lib
    decodes.hold("002")  # blocks the read-ahead (image 2 is its first) and image 2 itself
    page = ui.open_review_page(qtbot, lib)
    c = page.controller
    qtbot.waitUntil(lambda: c.images.get(ids[1]) is not None, timeout=T)
    qtbot.keyClick(page.canvas, Qt.Key.Key_J)  # to image 2: held
    qtbot.waitUntil(lambda: c.current is not None, timeout=T)
    qtbot.keyClick(page.canvas, Qt.Key.Key_J)  # on to image 4, read on its own
    qtbot.waitUntil(lambda: page.canvas.image_id == ids[4] and page.canvas._pixmap is not None,
                    timeout=T)
    assert c.images.get(ids[2]) is None
    decodes.release_all()
    idle(qtbot, page)
    assert decodes.finished.count("002") >= 1
    assert c.images.get(ids[2]) is None  # moved past: dropped from both answers
    assert c.images.get(ids[0]) is not None  # still ahead: kept
    assert page.canvas.image_id == ids[4]
