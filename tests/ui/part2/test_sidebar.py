"""The sidebar: folder tree with counts, tags by category, saved searches; clicks drive the grid."""

from __future__ import annotations

from pathlib import Path

import pytest
import tagging_kit as kit
from PySide6.QtCore import Qt

from animesion_desktop.core import settings as st
from animesion_desktop.core.library import Library
from animesion_desktop.core.sidebar import folder_trees, path_term
from animesion_desktop.ui.main_window import MainWindow

T = 15_000


@pytest.fixture
def nested(tmp_path: Path):
    lib = Library.open(tmp_path / "lib.sqlite")
    root = tmp_path / "art"
    paths = [kit.make_image(root / rel, colour) for rel, colour in [
        ("a.png", (1, 2, 3)), ("fan art/b.png", (4, 5, 6)), ("fan art/old/c.png", (7, 8, 9)),
        ("wall/d.png", (10, 11, 12))]]
    ids = kit.add_files(lib, root, paths)
    pack = kit.register_fake_pack(lib)
    kit.add_predictions(lib, pack.id, {ids[0]: {"red": 0.9, "character:alice": 0.8},
                                       ids[1]: {"red": 0.9}, ids[2]: {"blue": 0.9}})
    yield lib, ids, root.resolve()
    lib.close()


def test_folder_trees_count_images_below_each_folder(nested) -> None:
    lib, _ids, root = nested
    (tree,) = folder_trees(lib)
    assert (tree.name, tree.count) == ("art", 4)
    fan = tree.children["fan art"]
    assert (fan.count, fan.children["old"].count, tree.children["wall"].count) == (2, 1, 1)
    assert fan.query() == f'path:"{root}/fan art/*"'
    assert path_term("/x/wall") == "path:/x/wall/*"


def open_with_sidebar(qtbot, lib: Library) -> tuple[MainWindow, object]:
    """A shown window whose sidebar has read its folders and tags."""
    window = MainWindow(lib)
    qtbot.addWidget(window)
    window.show()
    bar = window.sidebar
    qtbot.waitUntil(lambda: bar.folders.topLevelItemCount() == 1
                    and bar.tags.topLevelItemCount() > 0, timeout=T)
    return window, bar


def item(tree, *texts):
    node = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if tree.topLevelItem(i).text(0) == texts[0])
    for t in texts[1:]:
        node = next(node.child(i) for i in range(node.childCount()) if node.child(i).text(0) == t)
    return node


def click(qtbot, tree, node, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    tree.scrollToItem(node)
    rect = tree.visualItemRect(node)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def test_clicks_search_and_saved_searches_persist(qtbot, nested) -> None:
    lib, ids, root = nested
    window, bar = open_with_sidebar(qtbot, lib)
    fan = item(bar.folders, "art", "fan art")
    assert fan.text(1) == "2"
    with qtbot.waitSignal(window.grid_controller.searched, timeout=T) as searched:
        click(qtbot, bar.folders, fan)
    assert searched.args[1] == 2
    assert window.search_bar.text() == f'path:"{root}/fan art/*"'

    red = item(bar.tags, "general", "red")
    assert red.text(1) == "2"
    with qtbot.waitSignal(window.grid_controller.searched, timeout=T) as searched:
        click(qtbot, bar.tags, red)
    assert searched.args[1] == 1  # under fan art and red: b.png
    with qtbot.waitSignal(window.grid_controller.searched, timeout=T) as searched:
        click(qtbot, bar.tags, item(bar.tags, "general", "blue"),
              Qt.KeyboardModifier.ControlModifier)
    assert window.search_bar.text().endswith(" red -blue")

    qtbot.mouseClick(bar.save_button, Qt.MouseButton.LeftButton)
    assert bar.saved.count() == 1
    saved, _problems = st.load(lib.location.config_dir)
    assert saved.saved_searches == [window.search_bar.text()]

    with qtbot.waitSignal(window.grid_controller.searched, timeout=T) as searched:
        click(qtbot, bar.tags, item(bar.tags, "character", "alice"))
    assert searched.args[0].endswith("character:alice")
    assert searched.args[1] == 0
    window.close()
    again = MainWindow(lib)
    qtbot.addWidget(again)
    assert again.sidebar.saved.item(0).text() == saved.saved_searches[0]
    with qtbot.waitSignal(again.grid_controller.searched, timeout=T) as searched:
        rect = again.sidebar.saved.visualItemRect(again.sidebar.saved.item(0))
        again.show()
        qtbot.mouseClick(again.sidebar.saved.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, rect.center())
    assert searched.args[1] == 1
    assert ids


def test_a_copy_in_two_folders_counts_once_in_the_folder_above(nested) -> None:
    lib, ids, root = nested
    from animesion_desktop.core.library.schema import File

    def copy(session) -> None:  # c.png's image again, as wall/c-copy.png
        first = session.query(File).filter_by(image_id=ids[2]).one()
        session.add(File(root_id=first.root_id, relpath_raw=b"wall/c-copy.png",
                         relpath="wall/c-copy.png", size=first.size, mtime_ns=first.mtime_ns,
                         image_id=ids[2], status="ok", seen_at=first.seen_at))

    lib.write(copy)
    (tree,) = folder_trees(lib)
    assert tree.count == 4  # four images, five files
    assert tree.children["wall"].count == 2
    assert tree.children["fan art"].children["old"].count == 1


def test_a_label_refreshes_the_tag_counts_and_leaves_the_folders_alone(qtbot, nested,
                                                                       monkeypatch) -> None:
    """Folder counts change only with files; walking them after every decision was wasted work
    on the read lane while the user reviewed."""
    from animesion_desktop.ui import sidebar as ui_sidebar

    lib, ids, _root = nested
    walks: list[int] = []
    real = ui_sidebar.core.folder_trees
    monkeypatch.setattr(ui_sidebar.core, "folder_trees",
                        lambda lib: walks.append(1) or real(lib))
    window, bar = open_with_sidebar(qtbot, lib)
    qtbot.waitUntil(lambda: window.lanes.idle(), timeout=T)
    assert walks == [1]
    with qtbot.waitSignal(window.labels.changed, timeout=T):
        window.labels.apply([ids[3]], "red", "accepted")
    qtbot.waitUntil(lambda: item(bar.tags, "general", "red").text(1) == "3", timeout=T)
    qtbot.waitUntil(lambda: window.lanes.idle(), timeout=T)
    assert walks == [1]
    window.close()
