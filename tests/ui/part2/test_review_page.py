"""Review mode driven by real key presses; every assertion is on the library's labels."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from animesion_desktop.core.library import Library
from animesion_desktop.core.review import build_queue
from animesion_desktop.ui.review.page import ReviewPage

T = 10_000


def labels(lib: Library, image_id: int) -> dict[str, tuple[str, str]]:
    return {f"{c}:{n}": (st, src) for c, n, st, src, _at in lib.labels(image_id)}


@pytest.fixture
def page(qtbot, ui, review_lib):
    lib, _ids = review_lib
    page = ui.open_review_page(qtbot, lib)
    qtbot.waitUntil(lambda: page.controller.current is not None, timeout=T)
    return page


def key(qtbot, page: ReviewPage, k, text: str = "") -> None:
    with qtbot.waitSignal(page.controller.written, timeout=T):
        qtbot.keyClick(page.canvas, k)


def test_queue_is_least_confident_first_and_shows_top_five(qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    assert page.controller.ids == [ids[1], ids[2], ids[4], ids[0]]
    assert page.rows[0].button.text().endswith("bob")
    assert page.rows[0].bar.value() == 40 and page.rows[0].percent.text() == "40 %"
    assert page.rows[2].button.text().endswith("carol")
    assert not page.rows[3].isVisibleTo(page)
    assert "0 decided · 4 left" in page.progress.text()
    # the image itself is decoded on a worker and painted
    qtbot.waitUntil(lambda: page.controller.images.get(ids[1]) is not None, timeout=T)
    qtbot.waitUntil(lambda: page.canvas._pixmap is not None, timeout=T)


def test_keys_accept_reject_pick_none_and_undo(qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    key(qtbot, page, Qt.Key.Key_2)  # image 1: pick alice, reject bob
    assert labels(lib, ids[1]) == {"character:alice": ("accepted", "user"),
                                   "character:bob": ("rejected", "user")}
    assert page.controller.current_id == ids[2]
    key(qtbot, page, Qt.Key.Key_R)  # image 2: reject carol
    assert labels(lib, ids[2]) == {"character:carol": ("rejected", "user")}
    key(qtbot, page, Qt.Key.Key_Return)  # image 4: accept alice
    assert labels(lib, ids[4]) == {"character:alice": ("accepted", "user")}
    assert ("character", "alice") in lib.effective_tags(ids[4])
    key(qtbot, page, Qt.Key.Key_N)  # image 0: none of these
    assert labels(lib, ids[0]) == {"character:alice": ("rejected", "user"),
                                   "character:bob": ("rejected", "user"),
                                   "meta:unknown_character": ("accepted", "user")}
    assert "4 decided · 0 left" in page.progress.text()
    assert build_queue(lib) == []

    with qtbot.waitSignal(page.controller.written, timeout=T):
        qtbot.keyClick(page.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert labels(lib, ids[0]) == {}
    assert page.controller.current_id == ids[0]  # back on the image whose decision was undone
    assert "3 decided · 1 left" in page.progress.text()
    key(qtbot, page, Qt.Key.Key_A)
    assert labels(lib, ids[0]) == {"character:alice": ("accepted", "user")}


def test_arrows_and_jk_move_without_deciding(qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    for k in (Qt.Key.Key_Right, Qt.Key.Key_J, Qt.Key.Key_Down):
        qtbot.keyClick(page.canvas, k)
    assert page.controller.current_id == ids[0]
    qtbot.keyClick(page.canvas, Qt.Key.Key_K)
    qtbot.keyClick(page.canvas, Qt.Key.Key_Left)
    assert page.controller.current_id == ids[2]
    qtbot.waitUntil(lambda: page.controller.current is not None, timeout=T)
    key(qtbot, page, Qt.Key.Key_1)  # picking the top guess accepts it
    assert labels(lib, ids[2]) == {"character:carol": ("accepted", "user")}
    assert all(labels(lib, i) == {} for i in (ids[0], ids[1], ids[4]))


def test_filter_and_grouped_order(qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    page.filter.setText("red")
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=T):
        qtbot.keyClick(page.filter, Qt.Key.Key_Return)
    assert page.controller.ids == [ids[4], ids[0]]  # red >= 0.5 on both
    page.filter.clear()
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=T):
        page.order.setCurrentIndex(1)
    with qtbot.waitSignal(page.controller.queue_loaded, timeout=T):
        qtbot.keyClick(page.filter, Qt.Key.Key_Return)
    assert page.controller.ids == [ids[4], ids[0], ids[1], ids[2]]


def test_a_bad_filter_names_the_problem(qtbot, page) -> None:
    page.filter.setText("red (")
    with qtbot.waitSignal(page.controller.failed, timeout=T):
        qtbot.keyClick(page.filter, Qt.Key.Key_Return)
    assert page.state.text()


def test_batch_accept_with_live_count_and_one_undo(qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    qtbot.keyClick(page.canvas, Qt.Key.Key_Right)
    qtbot.keyClick(page.canvas, Qt.Key.Key_Right)  # image 4: top guess alice 0.7
    qtbot.waitUntil(lambda: page.controller.current is not None, timeout=T)
    with qtbot.waitSignal(page.controller.batch_previewed, timeout=T):
        qtbot.mouseClick(page.batch_button, Qt.MouseButton.LeftButton)
    dialog = page.batch_dialog
    assert dialog.tag.text() == "character:alice"
    qtbot.waitUntil(lambda: dialog.preview is not None and dialog.preview.count == 2, timeout=T)
    with qtbot.waitSignal(page.controller.batch_previewed, timeout=T):
        dialog.score.setValue(0.3)  # alice: 0.9, 0.7 and 0.3
    assert dialog.preview.count == 3
    assert [i for i, _ in dialog.preview.lowest] == [ids[1], ids[4], ids[0]]
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.text() == "Accept on 3 images"
    qtbot.waitUntil(lambda: dialog.strip.count() == 3, timeout=T)
    # the strip: the images it would accept, lowest score first
    strip = [dialog.strip.item(i) for i in range(3)]
    assert [it.text() for it in strip] == ["0.30", "0.70", "0.90"]
    assert [it.data(Qt.ItemDataRole.UserRole) for it in strip] == [ids[1], ids[4], ids[0]]
    assert dialog.count.text() == "3 undecided images score ≥ 0.30 for character:alice"
    with qtbot.waitSignal(page.controller.written, timeout=T):
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert all(labels(lib, i) == {"character:alice": ("accepted", "user")}
               for i in (ids[0], ids[1], ids[4]))
    assert "3 decided · 1 left" in page.progress.text()

    with qtbot.waitSignal(page.controller.written, timeout=T):
        qtbot.keyClick(page.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert all(labels(lib, i) == {} for i in ids)  # one step undid the whole batch
    assert "0 decided · 4 left" in page.progress.text()


def test_pick_the_third_candidate_and_progress_per_minute(qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    times = iter([0.0, 30.0, 60.0])
    page.controller.clock = lambda: next(times)
    key(qtbot, page, Qt.Key.Key_3)  # image 1: carol (third), not bob
    assert labels(lib, ids[1]) == {"character:carol": ("accepted", "user"),
                                   "character:bob": ("rejected", "user")}
    assert page.progress.text() == "1 decided · 3 left · – / min"
    key(qtbot, page, Qt.Key.Key_R)
    key(qtbot, page, Qt.Key.Key_A)
    # three decisions at 0, 30 and 60 s: two intervals in a minute
    assert page.progress.text() == "3 decided · 1 left · 2.0 / min"


def test_the_strip_model_passes_the_model_tester(qtbot, qtmodeltester, page) -> None:
    with qtbot.waitSignal(page.controller.batch_previewed, timeout=T):
        qtbot.mouseClick(page.batch_button, Qt.MouseButton.LeftButton)
    dialog = page.batch_dialog
    qtbot.waitUntil(lambda: dialog.strip.count() > 0, timeout=T)
    qtmodeltester.check(dialog.strip.model())


def test_a_click_on_a_candidate_button_picks_it(qtbot, page, review_lib) -> None:
    lib, ids = review_lib
    with qtbot.waitSignal(page.controller.written, timeout=T):
        qtbot.mouseClick(page.rows[1].button, Qt.MouseButton.LeftButton)  # alice, not bob
    assert labels(lib, ids[1]) == {"character:alice": ("accepted", "user"),
                                   "character:bob": ("rejected", "user")}
    assert not page.rows[1].button.hasFocus()  # the keys still reach the page
