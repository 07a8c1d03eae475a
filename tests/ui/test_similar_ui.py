"""Similar images, suggestions, the few-shot head and the Clusters view in the window, driven
through the real menus, buttons and keys, checked against the library."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.schema import Pack
from animesion_desktop.core.library.tags import get_or_create_tag
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.core.similar import suggestions
from animesion_desktop.core.tagging.store import StoredImage, write_batch

DIM = 8
# name -> the axis its embedding points along (None: never tagged, no embedding)
IMAGES = {"a1": 0, "a2": 0, "a3": 0, "b1": 1, "b2": 1, "c1": 2, "bare": None}


def similar_library(tmp_path: Path) -> tuple[Library, dict[str, int]]:
    """Scanned files; a pack whose embeddings put a1-a3 together, b1-b2 together, c1 alone;
    every tagged image has a weak character guess (below any threshold), as unknowns do."""
    pics = tmp_path / "pics"
    pics.mkdir()
    rng = np.random.default_rng(0)
    for n, name in enumerate(IMAGES):
        pixels = rng.integers(0, 255, (24 + n, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(pics / f"{name}.png")
    lib = Library.open(tmp_path / "lib.sqlite")
    lib.add_root(pics)
    run_to_end(scan_roots(lib, [pics], threading.Event()))
    ids = {name: lib.image_for_path(pics / f"{name}.png") for name in IMAGES}
    assert all(i is not None for i in ids.values())

    def add_pack(s) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        pack = Pack(name="p", version="1", sha256="0" * 64, path=tmp_path / "p", active=True,
                    installed_at=0.0, info={})
        s.add(pack)
        s.flush()
        return pack.id, get_or_create_tag(s, "character", "alice")

    pack_id, alice = lib.write(add_pack)
    batch = []
    for n, (name, axis) in enumerate(IMAGES.items()):
        if axis is None:
            continue
        v = np.zeros(DIM, dtype=np.float32)
        v[axis] = 1.0
        v[3 + axis] = 0.05 * n  # distinct, still close within a group
        batch.append(StoredImage(ids[name], None, {alice: 0.1 + 0.01 * n},
                                 v.astype("<f2").tobytes(), DIM))
    lib.write(lambda s: write_batch(s, pack_id, batch))
    return lib, {k: int(v) for k, v in ids.items() if v is not None}


@pytest.fixture
def world(tmp_path: Path):
    lib, ids = similar_library(tmp_path)
    yield lib, ids
    lib.close()


def find_action(menu, prefix: str):  # type: ignore[no-untyped-def]
    found = [a for a in menu.actions() if a.text().replace("&", "").startswith(prefix)]
    assert found, [a.text() for a in menu.actions()]
    return found[0]


def grid_menu_for(window, image_id: int):  # type: ignore[no-untyped-def]
    return window.menus.grid_menu(window.model.index(window.model.row_for(image_id)))


def test_find_similar_from_the_context_menu(qtbot, ui, world) -> None:
    lib, ids = world
    window = ui.open_window(qtbot, lib)
    menu = grid_menu_for(window, ids["a1"])
    act = find_action(menu, "Find similar")
    assert not act.isEnabled()  # until the read lane has answered
    ui.settle(qtbot, window)
    assert act.isEnabled() and act.text() == "Find similar"
    act.trigger()
    ui.settle(qtbot, window)
    assert window.search_bar.text() == f"similar:{ids['a1']}"
    shown = window.model.ids
    assert shown[0] == ids["a1"]  # itself first, then nearest first
    assert set(shown[1:3]) == {ids["a2"], ids["a3"]}
    assert set(shown) == {i for n, i in ids.items() if n != "bare"}
    # the image stays selected, and the inspector lists its neighbours with their scores
    assert window.selected_ids() == [ids["a1"]]
    rows = window.detail.similar.neighbour_rows()
    assert [name for name, _s in rows[:2]] in (["a2.png", "a3.png"], ["a3.png", "a2.png"])
    scores = [s for _n, s in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.99 > scores[-1]


def test_find_similar_is_disabled_with_a_reason_without_an_embedding(qtbot, ui, world) -> None:
    lib, ids = world
    window = ui.open_window(qtbot, lib)
    act = find_action(grid_menu_for(window, ids["bare"]), "Find similar")
    ui.settle(qtbot, window)
    assert not act.isEnabled()
    assert act.text() == "Find similar (not tagged yet)"
    assert "not been tagged with p" in act.toolTip()
    ui.click_image(qtbot, window, ids["bare"])
    panel = window.detail.similar
    assert not panel.find_button.isEnabled()
    assert "No embedding" in panel.reason.text()
    ui.click_image(qtbot, window, ids["b1"])
    assert panel.find_button.isEnabled()
    qtbot.mouseClick(panel.find_button, Qt.MouseButton.LeftButton)
    ui.settle(qtbot, window)
    assert window.model.ids[:2] == [ids["b1"], ids["b2"]]
    assert panel.neighbour_rows()[0][0] == "b2.png"


def suggestion_rows(window) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return window.detail.similar.suggestions.rows()


def test_a_label_in_the_inspector_updates_the_fewshot_head_at_once(qtbot, ui, world) -> None:
    lib, ids = world
    window = ui.open_window(qtbot, lib)
    ui.click_image(qtbot, window, ids["a1"])
    assert suggestion_rows(window) == []
    ui.add_tags(qtbot, window, "character:hikari")
    ui.settle(qtbot, window)
    assert lib.labels(ids["a1"])[0][:4] == ("character", "hikari", "accepted", "user")
    assert window.similar.fewshot.runs >= 1
    ui.click_image(qtbot, window, ids["a2"])
    rows = suggestion_rows(window)
    assert [(t, src) for t, src, _c in rows] == [("character:hikari", "fewshot")]
    assert 0.5 <= float(rows[0][2]) <= 1.0
    assert lib.labels(ids["a2"]) == []  # a suggestion, not a label
    ui.click_image(qtbot, window, ids["c1"])
    assert suggestion_rows(window) == []  # far from every labelled image
    # searchable by its source
    ui.search_for(qtbot, window, "fewshot:hikari")
    ui.settle(qtbot, window)
    assert sorted(window.model.ids) == sorted([ids["a2"], ids["a3"]])
    # accepting the suggestion in the inspector is the user's decision, undoable
    ui.click_image(qtbot, window, ids["a2"])
    qtbot.mouseClick(window.detail.similar.accept_button, Qt.MouseButton.LeftButton)
    ui.settle(qtbot, window)
    assert lib.labels(ids["a2"])[0][:4] == ("character", "hikari", "accepted", "user")
    # decided: it leaves the fewshot: search as soon as the head has rerun
    assert window.model.ids == [ids["a3"]]
    ui.undo_keys(qtbot, window)
    ui.settle(qtbot, window)
    assert lib.labels(ids["a2"]) == []
    assert sorted(window.model.ids) == sorted([ids["a2"], ids["a3"]])
    ui.click_image(qtbot, window, ids["a2"])
    assert [t for t, _s, _c in suggestion_rows(window)] == ["character:hikari"]


def test_clusters_view_from_the_view_menu_names_and_undoes(qtbot, ui, world) -> None:
    lib, ids = world
    window = ui.open_window(qtbot, lib)
    act = find_action(window.menus.view, "Clusters of unknown characters")
    act.trigger()
    view = window.similar.clusters_view
    assert view is not None and view.isVisible()
    ui.settle(qtbot, window)
    assert view.rows == []  # nothing clustered yet
    qtbot.mouseClick(view.recluster_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(view.rows) == 2, timeout=20_000)
    ui.settle(qtbot, window)
    first = view.rows[0]
    members = [first.thumbs.item(i).data(Qt.ItemDataRole.UserRole)
               for i in range(first.thumbs.count())]
    assert sorted(members) == sorted([ids["a1"], ids["a2"], ids["a3"]])
    # name two of the three: they get the label, the third a propagation suggestion
    chosen = [ids["a1"], ids["a2"]]
    for i in range(first.thumbs.count()):
        first.thumbs.item(i).setSelected(first.thumbs.item(i).data(Qt.ItemDataRole.UserRole)
                                         in chosen)
    qtbot.keyClicks(first.name_edit, "hikari")
    qtbot.mouseClick(first.name_button, Qt.MouseButton.LeftButton)
    ui.settle(qtbot, window)
    for image_id in chosen:
        assert lib.labels(image_id)[0][:4] == ("character", "hikari", "accepted", "user")
    assert lib.labels(ids["a3"]) == []
    proposed = {(s.image_id, s.source) for s in suggestions.list_suggestions(lib)}
    assert (ids["a3"], "propagation") in proposed
    # the inspector shows both sources for the third image, each with its confidence
    ui.click_image(qtbot, window, ids["a3"])
    assert sorted((t, src) for t, src, _c in suggestion_rows(window)) == [
        ("character:hikari", "fewshot"), ("character:hikari", "propagation")]
    # "Show proposals" puts the propagation search in the grid
    qtbot.mouseClick(first.proposals_button, Qt.MouseButton.LeftButton)
    ui.settle(qtbot, window)
    assert window.search_bar.text() == "propagation:hikari"
    assert window.model.ids == [ids["a3"]]
    # one undo step takes the naming back, labels and proposals
    view.activateWindow()
    window.act_undo.trigger()
    ui.settle(qtbot, window)
    assert all(lib.labels(i) == [] for i in chosen)
    assert not [s for s in suggestions.list_suggestions(lib) if s.tag == "character:hikari"]
    assert "naming undone" in first.title.text()


def test_review_shows_suggestions_with_source_and_confidence(qtbot, ui, world) -> None:
    lib, ids = world
    lib.write(lambda s: suggestions.replace(s, suggestions.FEWSHOT,
                                            [(ids["b2"], "character:rin", 0.83)]))
    window = ui.open_window(qtbot, lib)
    window.modes.show_review("")
    page = window.modes.review
    qtbot.waitUntil(lambda: page.controller.current is not None, timeout=10_000)
    strip = page.suggested
    for _ in range(len(ids)):
        if page.controller.current_id == ids["b2"]:
            break
        qtbot.keyClick(page.canvas, Qt.Key.Key_Right)
    assert page.controller.current_id == ids["b2"]
    qtbot.waitUntil(lambda: strip.pending == 0, timeout=10_000)
    assert strip.isVisible()
    assert strip.list.rows() == [("character:rin", "fewshot", "0.83")]
    qtbot.keyClick(page.canvas, Qt.Key.Key_Right)
    ui.settle(qtbot, window)
    qtbot.waitUntil(lambda: strip.pending == 0, timeout=10_000)
    assert not strip.isVisible()
    QApplication.processEvents()
