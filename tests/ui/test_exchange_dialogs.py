"""File ▸ Export, File ▸ Import labels and Models ▸ Train a model, driven through their widgets
in a real window: fields typed, buttons clicked, and what the jobs wrote checked on disk and
in the library."""

from __future__ import annotations

import csv
from pathlib import Path

import exchange_kit as kit
import pytest
import tagging_kit
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from animesion_desktop.core.exchange import RetrainOptions, RetrainResult
from animesion_desktop.core.jobs import Progress
from animesion_desktop.core.library import Library

T = 20_000


@pytest.fixture
def boxes(monkeypatch) -> list[str]:
    """Message boxes the window would pop up (a dialog's job shows its failure itself)."""
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *a: shown.append(text))
    return shown


@pytest.fixture
def labelled(tmp_path: Path):
    library = Library.open(tmp_path / "lib.sqlite")
    kit.labelled_library(library, tmp_path / "art")  # 5 hatsune_miku, 4 shana, 2 izumi_konata
    yield library
    library.close()


def type_into(qtbot, line, text: str) -> None:
    line.clear()
    qtbot.mouseClick(line, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(line, text)


def choose(combo, value: str) -> None:
    index = combo.findData(value)
    if index < 0:
        index = combo.findText(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


def click_and_wait(qtbot, dialog, button) -> object:
    with qtbot.waitSignal(dialog.job_done, timeout=T) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_export_dialog_previews_then_writes_ours(qtbot, ui, labelled, tmp_path, boxes):
    window = ui.open_window(qtbot, labelled)
    ui.search_for(qtbot, window, "character:shana")
    ui.settle(qtbot, window)
    window.menus.act_export.trigger()
    dialog = window.menus.exchange.export_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.query.text() == "character:shana"  # defaults to the current search
    dest = tmp_path / "out"
    choose(dialog.format, "ours")
    type_into(qtbot, dialog.dest, str(dest))
    type_into(qtbot, dialog.query, "")  # every image
    choose(dialog.link, "copy")
    dialog.min_per_class.setValue(3)

    preview = click_and_wait(qtbot, dialog, dialog.preview_button)
    assert preview.dry_run and preview.files > 0
    assert not dest.exists() or not any(dest.iterdir())  # a preview writes nothing
    text = dialog.summary.toPlainText()
    assert "would write" in text and "labels.csv" in text
    assert "izumi_konata" in text  # 2 images, under min-per-class: named, not silently dropped

    click_and_wait(qtbot, dialog, dialog.run_button)
    rows = list(csv.DictReader((dest / "labels.csv").open(encoding="utf-8")))
    assert len(rows) == 9
    assert {r["character"] for r in rows} == {"hatsune_miku", "shana"}
    assert {r["split"] for r in rows} <= {"train", "val", "test"}
    assert all((dest / r["path"]).is_file() for r in rows)
    text = dialog.summary.toPlainText()
    assert "splits: train" in text and "left out 2 images" in text

    # Again, without Overwrite: refused, shown in the dialog, not a second message box.
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=T)
    assert dialog.status.text().startswith("failed:")
    assert "overwrite" in dialog.summary.toPlainText()
    assert boxes == []
    dialog.overwrite.setChecked(True)
    click_and_wait(qtbot, dialog, dialog.run_button)
    assert "wrote" in dialog.summary.toPlainText()


def test_import_dialog_keeps_user_decisions_and_scans(qtbot, ui, tmp_path, boxes):
    lib = Library.open(tmp_path / "lib.sqlite")
    try:
        files = kit.collection(tmp_path / "art")
        kit.scan(lib, tmp_path / "art")
        shana = lib.image_for_path(files["shana"][0])
        assert shana is not None
        lib.set_label([shana], "character:shana", "rejected")  # the user said no
        more = kit.collection(tmp_path / "more", counts=(2,), seed=7)  # not in the library yet
        window = ui.open_window(qtbot, lib)
        window.menus.act_import.trigger()
        dialog = window.menus.exchange.import_dialog
        assert dialog is not None
        choose(dialog.format, "folders")
        type_into(qtbot, dialog.src, str(tmp_path / "art"))

        before = kit.all_labels(lib)
        preview = click_and_wait(qtbot, dialog, dialog.preview_button)
        assert preview.dry_run and preview.added == 10  # 11 images, the user's own one kept
        assert kit.all_labels(lib) == before
        assert "would add 10 labels" in dialog.summary.toPlainText()

        click_and_wait(qtbot, dialog, dialog.run_button)
        assert "kept 1 of your own decisions" in dialog.summary.toPlainText()
        labels = {(c, n, state, source) for _h, c, n, state, source in kit.all_labels(lib)}
        assert ("character", "shana", "rejected", "user") in labels
        assert ("character", "hatsune_miku", "accepted", "import:folders") in labels

        type_into(qtbot, dialog.src, str(tmp_path / "more"))
        dialog.scan.setChecked(True)
        click_and_wait(qtbot, dialog, dialog.run_button)
        for path in more["hatsune_miku"]:
            image_id = lib.image_for_path(path)
            assert image_id is not None  # scanned first
            assert ("character", "hatsune_miku") in set(lib.effective_tags(image_id))
        assert boxes == []
        window.close()
    finally:
        lib.close()


def test_train_dialog_runs_retrain_with_the_form_and_shows_both_packs(
        qtbot, ui, labelled, monkeypatch, boxes):
    from animesion_desktop.ui import menus, train_dialog

    tagging_kit.register_fake_pack(labelled, "old")
    asked: list[RetrainOptions] = []

    def fake_retrain(lib, opts, cancel):  # training itself is covered by tests/core/test_retrain
        asked.append(opts)
        yield Progress("training", 30, 60, "epoch 1, step 4, loss 1.200")
        return RetrainResult(
            name="mine", base=opts.from_pack, compared=opts.from_pack, activated=opts.activate,
            new_metrics={"val": {"character": {"top1": 0.8, "top5": 1.0, "images": 10}}},
            old_metrics={"val": {"character": {"top1": 0.5, "top5": 0.9, "images": 40}}})

    tagged: list[str] = []
    monkeypatch.setattr(train_dialog, "retrain_job", fake_retrain)
    monkeypatch.setattr(menus.WindowMenus, "tag_with", lambda self, pack: tagged.append(pack))
    window = ui.open_window(qtbot, labelled)
    window.menus.act_train.trigger()
    dialog = window.menus.exchange.train_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.from_pack.findData("old") >= 0, timeout=T)
    dialog.minutes.setValue(2.5)
    choose(dialog.from_pack, "old")
    dialog.activate.setChecked(True)
    dialog.retag.setChecked(True)
    click_and_wait(qtbot, dialog, dialog.run_button)
    assert [(o.minutes, o.from_pack, o.activate) for o in asked] == [(2.5, "old", True)]
    text = dialog.summary.toPlainText()
    assert "new pack mine: validation top-1 80.0%" in text
    assert "old pack old: validation top-1 50.0%" in text
    assert "pack mine: active" in text
    assert tagged == ["mine"]
    assert boxes == []


@pytest.fixture
def one_character(tmp_path: Path):
    library = Library.open(tmp_path / "lib.sqlite")
    kit.labelled_library(library, tmp_path / "art", counts=(4,))
    yield library
    library.close()


def test_train_dialog_reports_too_few_characters_and_changes_nothing(
        qtbot, ui, one_character, boxes):
    window = ui.open_window(qtbot, one_character)
    before = kit.all_labels(one_character)
    dialog = window.menus.exchange.open_train()
    dialog.retag.setChecked(False)
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=T)
    assert "at least two characters" in dialog.summary.toPlainText()
    assert kit.all_labels(one_character) == before
    from animesion_desktop.core.tagging import packs_registry

    assert packs_registry.list_packs(one_character) == []  # nothing installed
    assert boxes == []


def test_train_dialog_shows_progress_and_stop_cancels(qtbot, ui, labelled, monkeypatch, boxes):
    import threading

    from animesion_desktop.ui import train_dialog

    saw_cancel = threading.Event()

    def slow_retrain(lib, opts, cancel):  # stands in for the training process
        while not cancel.is_set():
            yield Progress("training", 5, 60, "epoch 1, step 2, loss 2.000")
            cancel.wait(0.05)
        saw_cancel.set()
        return RetrainResult(name="mine", cancelled=True)

    monkeypatch.setattr(train_dialog, "retrain_job", slow_retrain)
    window = ui.open_window(qtbot, labelled)
    dialog = window.menus.exchange.open_train()
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "loss 2.000" in dialog.status.text(), timeout=T)
    assert dialog.progress.isVisible() and dialog.progress.value() == 5
    assert not dialog.run_button.isEnabled()
    with qtbot.waitSignal(dialog.job_done, timeout=T):
        qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    assert saw_cancel.is_set()
    assert "library is as it was" in dialog.summary.toPlainText()
    assert dialog.run_button.isEnabled() and not dialog.stop_button.isEnabled()
    assert boxes == []
