"""Review mode's second queue, general tags, driven by real keys and clicks on the page.

review_lib's general predictions (threshold 0.5): image 0 red 0.8, image 1 green 0.6, image 2
blue 0.45 (under the threshold: not claimed), image 3 red 0.7, image 4 red 0.55.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from animesion_desktop.core.library import Library
from animesion_desktop.core.review import TagQueue
from animesion_desktop.ui.review.controller import GENERAL
from animesion_desktop.ui.review.page import ReviewPage

T = 10_000


def labels(lib: Library, image_id: int) -> dict[str, tuple[str, str]]:
    return {f"{c}:{n}": (st, src) for c, n, st, src, _at in lib.labels(image_id)}


def click_tab(qtbot, page: ReviewPage, index: int) -> None:
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=T):
        qtbot.mouseClick(page.queues, Qt.MouseButton.LeftButton,
                         pos=page.queues.tabRect(index).center())


@pytest.fixture
def page(qtbot, ui, review_lib):
    lib, _ids = review_lib
    page = ui.open_review_page(qtbot, lib)
    click_tab(qtbot, page, 1)  # the visible switch: "General tags"
    qtbot.waitUntil(lambda: page.controller.current is not None, timeout=T)
    return page


def key(qtbot, page: ReviewPage, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    with qtbot.waitSignal(page.controller.written, timeout=T):
        qtbot.keyClick(page.canvas, k, modifier)


def test_the_tabs_switch_queue_and_the_general_queue_is_least_confident_first(
        qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    c = page.controller
    assert page.queues.tabText(1) == "General tags" and c.queue == GENERAL
    assert c.keys == [(ids[4], c.keys[0][1]), (ids[1], c.keys[1][1]), (ids[3], c.keys[2][1]),
                      (ids[0], c.keys[3][1])]
    assert page.title.text() == "Does it show this tag?"
    assert page.rows[0].button.text().endswith("red") and page.rows[0].bar.value() == 55
    assert not page.rows[1].isVisibleTo(page)
    assert not page.none_button.isVisibleTo(page)
    assert "0 decided · 4 left" in page.progress.text()
    qtbot.waitUntil(lambda: page.canvas._pixmap is not None, timeout=T)
    click_tab(qtbot, page, 0)  # back to characters
    assert c.ids == [ids[1], ids[2], ids[4], ids[0]]
    assert page.title.text() == "Who is this?"


def test_keys_accept_reject_move_and_undo_write_user_labels(qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    c = page.controller
    key(qtbot, page, Qt.Key.Key_Return)  # image 4: red is right
    assert labels(lib, ids[4]) == {"general:red": ("accepted", "user")}
    assert c.current_id == ids[1]
    key(qtbot, page, Qt.Key.Key_R)  # image 1: green is wrong
    assert labels(lib, ids[1]) == {"general:green": ("rejected", "user")}
    assert ("general", "green") not in lib.effective_tags(ids[1])
    qtbot.keyClick(page.canvas, Qt.Key.Key_J)  # skip image 3
    assert c.current_id == ids[0]
    qtbot.keyClick(page.canvas, Qt.Key.Key_K)
    qtbot.keyClick(page.canvas, Qt.Key.Key_Right)
    assert c.current_id == ids[0]
    qtbot.keyClick(page.canvas, Qt.Key.Key_N)  # "none of these" is for characters: nothing
    qtbot.keyClick(page.canvas, Qt.Key.Key_2)  # no second candidate: nothing
    key(qtbot, page, Qt.Key.Key_A)
    assert labels(lib, ids[0]) == {"general:red": ("accepted", "user")}
    assert labels(lib, ids[3]) == {} and labels(lib, ids[2]) == {}
    assert "3 decided · 1 left" in page.progress.text()
    assert [e.image_id for e in TagQueue(lib).page()] == [ids[3]]

    key(qtbot, page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert labels(lib, ids[0]) == {}
    assert c.current_id == ids[0]  # back on the entry whose decision was undone
    key(qtbot, page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert labels(lib, ids[1]) == {}
    assert "1 decided · 3 left" in page.progress.text()


def test_the_filter_narrows_the_general_queue(qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    page.filter.setText("character:alice")
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=T):
        qtbot.keyClick(page.filter, Qt.Key.Key_Return)
    assert page.controller.ids == [ids[4], ids[0]]
    assert page.controller.queue == GENERAL  # the filter keeps the queue
    page.filter.setText("green")
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=T):
        qtbot.keyClick(page.filter, Qt.Key.Key_Return)
    assert page.controller.ids == [ids[1]]


def test_a_model_run_never_overwrites_a_review_decision(qtbot, page, review_lib) -> None:
    import tagging_kit as kit

    lib, ids = review_lib
    key(qtbot, page, Qt.Key.Key_R)  # image 4: red rejected
    key(qtbot, page, Qt.Key.Key_A)  # image 1: green accepted
    pack_id = lib.write(lambda s: s.execute(
        __import__("sqlalchemy").text("SELECT id FROM packs WHERE name = 'fake'")).scalar_one())
    # the pack runs again and now is sure of both
    kit.add_predictions(lib, pack_id, {ids[4]: {"red": 0.99}, ids[1]: {"green": 0.01}})
    assert labels(lib, ids[4]) == {"general:red": ("rejected", "user")}
    assert labels(lib, ids[1]) == {"general:green": ("accepted", "user")}
    assert ("general", "red") not in lib.effective_tags(ids[4])
    assert ("general", "green") in lib.effective_tags(ids[1])
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=T):
        page.reopen()
    assert page.controller.ids == [ids[3], ids[0]]


def test_pages_load_as_the_reviewer_goes(qtbot, review_lib, monkeypatch) -> None:
    """A long general queue is read in pages, the next one before the reviewer gets there."""
    from animesion_desktop.core.review import tag_queue
    from animesion_desktop.ui.review import controller as ctl

    lib, ids = review_lib
    real_page = TagQueue.page
    monkeypatch.setattr(TagQueue, "page", lambda self, after=None, limit=2:
                        real_page(self, after, 2))
    monkeypatch.setattr(ctl, "PAGE_AHEAD", 1)
    assert tag_queue.PAGE > 2
    page = ReviewPage(lib)
    qtbot.addWidget(page)
    page.show()
    page.set_queue(GENERAL)
    c = page.controller
    qtbot.waitUntil(lambda: c.total == 4 and c.current is not None, timeout=T)
    assert len(c.keys) == 2  # one page of two; the next is asked for one entry before its end
    for _ in range(4):
        qtbot.waitUntil(lambda: c.current is not None, timeout=T)
        key(qtbot, page, Qt.Key.Key_A)
    assert len(c.keys) == 4
    assert all(labels(lib, i) == {"general:red": ("accepted", "user")} for i in (ids[4], ids[0]))
    assert "4 decided · 0 left" in page.progress.text()


def test_the_menu_opens_the_general_queue_in_the_window(qtbot, review_lib) -> None:
    from animesion_desktop.ui.main_window import MainWindow
    from animesion_desktop.ui.modes import REVIEW

    lib, ids = review_lib
    window = MainWindow(lib)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.lanes.idle, timeout=T)
    assert window.menus.act_review_tags.shortcut().toString() == "Ctrl+Shift+R"
    page = window.modes.review
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=T):
        window.menus.act_review_tags.trigger()
    assert window.modes.mode == REVIEW and page.queue == GENERAL
    assert page.queues.currentIndex() == 1
    qtbot.waitUntil(lambda: page.controller.current is not None, timeout=T)
    assert page.controller.current_id == ids[4]
    with qtbot.waitSignal(page.controller.written, timeout=T):
        qtbot.keyClick(page.canvas, Qt.Key.Key_R)
    assert labels(lib, ids[4]) == {"general:red": ("rejected", "user")}
    with qtbot.waitSignal(page.controller.written, timeout=T):
        window.act_undo.trigger()  # one history with the grid's edits
    assert labels(lib, ids[4]) == {}
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=T):
        window.menus.act_review_characters.trigger()
    assert page.queue == "character" and page.title.text() == "Who is this?"
    qtbot.waitUntil(lambda: window.lanes.idle(), timeout=T)
