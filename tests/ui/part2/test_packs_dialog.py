"""The packs dialog and its thresholds panel, driven through their widgets."""

from __future__ import annotations

from pathlib import Path

import pytest
import tagging_kit as kit
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMessageBox

from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging import packs_registry as registry
from animesion_desktop.ui.packs_dialog import PacksDialog

T = 15_000
# PySide marks the QDragEnterEvent constructor deprecated (Qt 6 itself keeps it).
pytestmark = pytest.mark.filterwarnings("ignore:Function. .QDragEnterEvent:DeprecationWarning")


def general(lib: Library, image_id: int) -> set[str]:
    return {n for c, n in lib.effective_tags(image_id) if c == "general"}


@pytest.fixture
def dialog(qtbot, review_lib):
    lib, _ids = review_lib
    dialog = PacksDialog(lib)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.current_pack() == "fake"
                    and "general" in " ".join(s.target for s in dialog.thresholds.categories.values())
                    and dialog.thresholds.model.rowCount() > 0, timeout=T)
    return dialog


def test_lists_the_pack_with_details_and_models_are_sound(qtbot, qtmodeltester, dialog) -> None:
    assert dialog.model.rowCount() == 1
    assert dialog.model.index(0, 3).data() == "yes"
    assert dialog.model.index(0, 4).data() == "5"  # images run
    qtbot.waitUntil(lambda: "Vocabulary: 14 tags" in dialog.details.text(), timeout=T)
    qtmodeltester.check(dialog.model)
    qtmodeltester.check(dialog.thresholds.model)


def test_category_slider_counts_live_applies_and_undoes(qtbot, dialog, review_lib) -> None:
    lib, ids = review_lib
    assert general(lib, ids[2]) == set()  # blue 0.45 < 0.5
    slider = dialog.thresholds.categories["category:general"]
    qtbot.waitUntil(lambda: slider.yield_label.text() == "4 predictions ≥ 0.50", timeout=T)
    with qtbot.waitSignal(dialog.thresholds.changed, timeout=T):
        qtbot.keyClick(slider.slider, Qt.Key.Key_PageDown)  # 0.50 -> 0.40, applied
    assert general(lib, ids[2]) == {"blue"}
    qtbot.waitUntil(lambda: slider.yield_label.text() == "5 predictions ≥ 0.40", timeout=T)
    assert {r.threshold for r in dialog.thresholds.model.rows if r.category == "general"} == {0.4}
    assert {r.threshold for r in dialog.thresholds.model.rows if r.category == "character"} == {0.5}

    with qtbot.waitSignal(dialog.thresholds.changed, timeout=T):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert general(lib, ids[2]) == set()


def test_tag_threshold_from_the_table(qtbot, dialog, review_lib) -> None:
    lib, ids = review_lib
    panel = dialog.thresholds
    panel.search.setText("blu")
    assert panel.proxy.rowCount() == 1
    panel.table.setCurrentIndex(panel.proxy.index(0, 0))
    assert panel.tag_slider.target == "blue"
    qtbot.waitUntil(lambda: panel.tag_slider.yield_label.text() == "0 predictions ≥ 0.50",
                    timeout=T)
    panel.tag_slider.spin.selectAll()
    qtbot.keyClicks(panel.tag_slider.spin, "0.4")
    qtbot.waitUntil(lambda: panel.tag_slider.yield_label.text() == "1 prediction ≥ 0.40",
                    timeout=T)
    with qtbot.waitSignal(panel.changed, timeout=T):
        qtbot.keyClick(panel.tag_slider.spin, Qt.Key.Key_Return)
    assert general(lib, ids[2]) == {"blue"}
    assert general(lib, ids[1]) == {"green"}  # other tags did not move


def test_deactivate_and_remove_with_confirmation(qtbot, dialog, review_lib) -> None:
    lib, ids = review_lib
    lib.set_label([ids[3]], "red", "rejected")
    with qtbot.waitSignal(dialog.changed, timeout=T):
        qtbot.mouseClick(dialog.active_button, Qt.MouseButton.LeftButton)
    assert not registry.get_summary(lib, "fake").active
    assert general(lib, ids[0]) == set()
    qtbot.waitUntil(lambda: dialog.active_button.text() == "Activate", timeout=T)

    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.confirm_box is not None and dialog.confirm_box.isVisible(),
                    timeout=T)
    assert "14 predictions on 5 images" in dialog.confirm_box.text()
    with qtbot.waitSignal(dialog.changed, timeout=T):
        qtbot.mouseClick(dialog.confirm_box.button(QMessageBox.StandardButton.Yes),
                         Qt.MouseButton.LeftButton)
    assert registry.list_packs(lib) == []
    assert [lab[2] for lab in lib.labels(ids[3])] == ["rejected"]  # decisions are kept
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0, timeout=T)


def test_cancelled_remove_keeps_the_pack(qtbot, dialog, review_lib) -> None:
    lib, _ids = review_lib
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.confirm_box is not None and dialog.confirm_box.isVisible(),
                    timeout=T)
    qtbot.mouseClick(dialog.confirm_box.button(QMessageBox.StandardButton.Cancel),
                     Qt.MouseButton.LeftButton)
    assert [p.name for p in registry.list_packs(lib)] == ["fake"]


def drop(dialog: PacksDialog, mime: QMimeData) -> None:
    """Drag over and drop. (Offscreen, QApplication delivers no drop events without a drag
    in progress, so the dialog's handlers get the real events directly.)"""
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    dialog.dragEnterEvent(enter)
    assert enter.isAccepted()
    dialog.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def test_drop_a_pack_folder_installs_it(qtbot, dialog, review_lib, tmp_path: Path) -> None:
    lib, _ids = review_lib
    src = kit.write_real_pack(tmp_path / "tiny-src", name="tiny")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(src))])
    errors: list[str] = []
    dialog.failed.connect(errors.append)
    drop(dialog, mime)
    assert dialog.installing == 1
    qtbot.waitUntil(lambda: dialog.installing == 0, timeout=120_000)
    assert errors == []
    assert sorted(p.name for p in registry.list_packs(lib)) == ["fake", "tiny"]
    qtbot.waitUntil(lambda: dialog.current_pack() == "tiny", timeout=T)


def test_a_bad_drop_says_why(qtbot, dialog, tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "readme.txt").write_text("not a pack")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(junk))])
    with qtbot.waitSignal(dialog.failed, timeout=T) as failed:
        drop(dialog, mime)
    assert "junk" in failed.args[0]
    assert dialog.status.text() == failed.args[0]
