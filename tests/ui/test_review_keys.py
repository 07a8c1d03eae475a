"""Review through the keyboard and the undo stack, asserting on what the library holds."""

from __future__ import annotations

from PySide6.QtCore import Qt

from animesion_desktop.core.library import Library

A, R = Qt.Key.Key_A, Qt.Key.Key_R


def first_id(window) -> int:
    return window.model.image_id(0)


def on_first_image(qtbot, ui, lib: Library):
    """The window with its first image clicked; returns (window, that image's id)."""
    window = ui.open_window(qtbot, lib)
    image = first_id(window)
    ui.click_image(qtbot, window, image)
    return window, image


def add_and_wait(qtbot, ui, window, text: str) -> None:
    """Type tags in the detail panel and wait until they are written."""
    ui.add_tags(qtbot, window, text)
    ui.settle(qtbot, window)


def test_a_and_r_fire_while_the_tag_list_has_the_focus(qtbot, ui, lib: Library) -> None:
    """Defect a: the tree's keyboard search used to swallow A and R."""
    window, image = on_first_image(qtbot, ui, lib)
    add_and_wait(qtbot, ui, window, "smiling")
    ui.pick_tag(qtbot, window, "smiling")
    assert window.detail.tree.hasFocus()
    qtbot.keyClick(window.detail.tree, R)
    ui.settle(qtbot, window)
    assert ui.user_labels(lib, [image]) == {(image, "smiling"): "rejected"}
    ui.pick_tag(qtbot, window, "smiling")
    qtbot.keyClick(window.detail.tree, A)
    ui.settle(qtbot, window)
    assert ui.user_labels(lib, [image]) == {(image, "smiling"): "accepted"}


def test_letters_typed_in_the_add_line_are_text_not_shortcuts(qtbot, ui, lib: Library) -> None:
    window, image = on_first_image(qtbot, ui, lib)
    add_and_wait(qtbot, ui, window, "hair_ribbon")  # contains an "a" and "r"s
    assert ui.user_labels(lib, [image]) == {(image, "hair_ribbon"): "accepted"}


def test_accept_reject_undo_undo_quickly_ends_as_the_user_meant(qtbot, ui, lib: Library) -> None:
    """Defect e: four quick actions reach the writer in the order the user made them."""
    window, image = on_first_image(qtbot, ui, lib)
    add_and_wait(qtbot, ui, window, "hat")
    ui.pick_tag(qtbot, window, "hat")
    tree = window.detail.tree
    # No waiting between the keys: they are all queued before the first write lands.
    qtbot.keyClick(tree, A)
    qtbot.keyClick(tree, R)
    ui.undo_keys(qtbot, window)
    ui.undo_keys(qtbot, window)
    ui.settle(qtbot, window)
    # Add hat (accepted), Accept (still accepted), Reject; undo Reject, undo Accept: accepted.
    assert ui.user_labels(lib, [image]) == {(image, "hat"): "accepted"}
    ui.undo_keys(qtbot, window)  # undo the add
    ui.settle(qtbot, window)
    assert ui.user_labels(lib, [image]) == {}
    ui.redo_keys(qtbot, window)
    ui.redo_keys(qtbot, window)
    ui.redo_keys(qtbot, window)
    ui.settle(qtbot, window)
    assert ui.user_labels(lib, [image]) == {(image, "hat"): "rejected"}


def test_undo_during_an_action_in_flight_undoes_that_action(qtbot, ui, lib: Library) -> None:
    window, image = on_first_image(qtbot, ui, lib)
    add_and_wait(qtbot, ui, window, "first")
    ui.add_tags(qtbot, window, "second")
    ui.undo_keys(qtbot, window)  # before "second" has landed
    ui.settle(qtbot, window)
    assert ui.user_labels(lib, [image]) == {(image, "first"): "accepted"}


def test_a_batch_edit_is_one_undo_step(qtbot, ui, lib: Library) -> None:
    window = ui.open_window(qtbot, lib)
    ids = window.model.ids
    ui.click_image(qtbot, window, ids[0])
    ui.click_image(qtbot, window, ids[2], Qt.KeyboardModifier.ControlModifier)
    ui.click_image(qtbot, window, ids[3], Qt.KeyboardModifier.ControlModifier)
    assert window.selected_ids() == sorted([ids[0], ids[2], ids[3]])
    add_and_wait(qtbot, ui, window, "smile hat character:shana")
    assert len(ui.user_labels(lib, ids)) == 9
    ui.undo_keys(qtbot, window)
    ui.settle(qtbot, window)
    assert ui.user_labels(lib, ids) == {}
    ui.redo_keys(qtbot, window)
    ui.settle(qtbot, window)
    assert len(ui.user_labels(lib, ids)) == 9


def test_a_failed_undo_keeps_its_entry(qtbot, ui, lib: Library, monkeypatch) -> None:
    window = ui.open_window(qtbot, lib)
    errors: list[str] = []
    monkeypatch.setattr(window, "_error", errors.append)
    window.labels.failed.disconnect()
    window.labels.failed.connect(errors.append)
    image = first_id(window)
    ui.click_image(qtbot, window, image)
    ui.add_tags(qtbot, window, "first")
    add_and_wait(qtbot, ui, window, "second")
    real_undo = lib.undo
    calls = {"n": 0}

    def failing_undo(changes):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk I/O error")
        return real_undo(changes)

    monkeypatch.setattr(lib, "undo", failing_undo)
    ui.undo_keys(qtbot, window)  # fails
    ui.undo_keys(qtbot, window)  # queued behind the failure: skipped, not half-applied
    ui.settle(qtbot, window)
    assert errors == ["disk I/O error"]
    assert ui.user_labels(lib, [image]) == {(image, "first"): "accepted",
                                         (image, "second"): "accepted"}
    assert window.labels.stack.index() == 2  # both entries still there to undo
    ui.undo_keys(qtbot, window)
    ui.settle(qtbot, window)
    assert ui.user_labels(lib, [image]) == {(image, "first"): "accepted"}


def test_a_category_with_no_tag_is_one_message_and_no_undo_entry(
        qtbot, ui, lib: Library, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: shown.append(text))
    window, image = on_first_image(qtbot, ui, lib)
    add_and_wait(qtbot, ui, window, "Blue_Hair character:")
    assert len(shown) == 1 and "character" in shown[0]
    assert window.labels.stack.count() == 0
    add_and_wait(qtbot, ui, window, "Blue_Hair")  # names are normalised as everywhere else
    assert ui.user_labels(lib, [image]) == {(image, "blue_hair"): "accepted"}
