"""A seeded "random user": a few hundred actions through the real widgets on a real library.

After every step the user decisions in the library must equal a plain-Python model of what the
user did: a list of label snapshots with an index (exactly what an undo stack promises). Some
steps are bursts of keys sent without waiting, so ordering is tested too. Deterministic: the
test waits for the lanes to drain (never sleeps) and every choice comes from one seed.
"""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from animesion_desktop.core.library import Library

VOCAB = ["smile", "hat", "blue_hair", "character:shana", "copyright:shakugan", "glasses"]
QUERIES = ["", "smile", "-hat", "path:r*", "hat | smile", "character:shana"]
STEPS = 300


class UserModel:
    def __init__(self) -> None:
        self.history: list[dict[tuple[int, str], str]] = [{}]
        self.index = 0
        self.decisions = 0

    @property
    def labels(self) -> dict[tuple[int, str], str]:
        return self.history[self.index]

    def act(self, image_ids: list[int], tags: list[str], state: str) -> None:
        if not image_ids or not tags:
            return  # the window does nothing without a selection
        new = dict(self.labels)
        for tag in tags:
            for i in image_ids:
                new[(i, tag)] = state
        del self.history[self.index + 1:]
        self.history.append(new)
        self.index += 1
        self.decisions += 1

    def undo(self) -> None:
        self.index = max(0, self.index - 1)

    def redo(self) -> None:
        self.index = min(len(self.history) - 1, self.index + 1)


@pytest.mark.parametrize("seed", [8, 4])
def test_random_user(qtbot, ui, lib: Library, monkeypatch, seed: int) -> None:
    dialogs: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: dialogs.append(text))
    rng = random.Random(seed)
    ui.add_images(lib.roots()[0].path, ["extra_1", "extra_2"])
    window = ui.open_window(qtbot, lib)
    window.resize(1000, 700)
    rescan(qtbot, ui, window)
    window.watch.sync()
    ui.settle(qtbot, window)
    model = UserModel()
    all_ids = set(window.model.ids)
    arrivals = 0

    def key_on_tree(state: str) -> None:
        tree = window.detail.tree
        tree.setFocus()  # the user tabs back into the list after typing in the add line
        item = tree.currentItem()
        if item is not None:
            model.act(window.selected_ids(), [item.data(0, Qt.ItemDataRole.UserRole)], state)
        qtbot.keyClick(tree, Qt.Key.Key_A if state == "accepted" else Qt.Key.Key_R)

    def add_tags() -> None:
        tags = rng.sample(VOCAB, rng.choice([1, 1, 2]))
        model.act(window.selected_ids(), tags, "accepted")
        ui.add_tags(qtbot, window, " ".join(tags))

    def undo() -> None:
        model.undo()
        ui.undo_keys(qtbot, window)

    def redo() -> None:
        model.redo()
        ui.redo_keys(qtbot, window)

    def quick_action() -> None:
        """One of the actions that need no fresh read: used in bursts."""
        pick = rng.random()
        if pick < 0.3 and window.detail.tree.currentItem() is not None:
            key_on_tree(rng.choice(["accepted", "rejected"]))
        elif pick < 0.55:
            undo()
        elif pick < 0.75:
            redo()
        else:
            add_tags()

    for step in range(STEPS):
        roll = rng.random()
        ids = window.model.ids
        if roll < 0.22:
            if ids:
                modifier = (Qt.KeyboardModifier.ControlModifier if rng.random() < 0.3
                            else Qt.KeyboardModifier.NoModifier)
                ui.click_image(qtbot, window, rng.choice(ids), modifier)
        elif roll < 0.42:
            tags = window.detail.tag_texts()
            if tags and window.selected_ids():
                ui.pick_tag(qtbot, window, rng.choice(tags))
                key_on_tree(rng.choice(["accepted", "rejected"]))
        elif roll < 0.55:
            add_tags()
        elif roll < 0.65:
            undo()
        elif roll < 0.72:
            redo()
        elif roll < 0.82:
            for _ in range(rng.randint(2, 4)):
                quick_action()
        elif roll < 0.90:
            ui.search_for(qtbot, window, rng.choice(QUERIES))
        elif roll < 0.95:
            rescan(qtbot, ui, window)  # a finishing job: the grid refreshes
        elif roll < 0.97 and arrivals < 3:
            arrivals += 1  # a watcher event: a file appears, is indexed, tagging is tried
            ui.add_images(lib.roots()[0].path, [f"arrival_{arrivals}"])
            expected = len(all_ids) + 1
            qtbot.waitUntil(lambda n=expected: len(every_image(lib)) == n, timeout=30_000)
            all_ids = set(every_image(lib))
        else:
            window.grid.setFocus()
            qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        ui.settle(qtbot, window)
        assert ui.user_labels(lib, all_ids) == model.labels, f"step {step} (seed {seed})"
        assert window.labels.stack.index() == model.index, f"step {step} (seed {seed})"
        shown = window.detail.image_id
        assert shown is None or shown in window.selected_ids() or not window.selected_ids()
    assert dialogs == []
    assert model.decisions > 40  # the run did make decisions


def rescan(qtbot, ui, window) -> None:
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        window.act_scan.trigger()
    ui.settle(qtbot, window)


def every_image(lib: Library) -> list[int]:
    from animesion_desktop.core.search import search

    return list(search(lib, "", limit=None).ids)
