"""The grid model keeps ids, asks for rows, pages and thumbnails, and never reads itself."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QImage

from animesion_desktop.core.views import GridRow
from animesion_desktop.ui.image_model import HASH_ROLE, IMAGE_ID_ROLE, PAGE, ImageListModel


def row(i: int) -> GridRow:
    return GridRow(i, f"{i:064x}", f"/pics/{i}.png", 10, 20, ("blue_hair",))


def test_model_contract(qtmodeltester, qapp) -> None:
    model = ImageListModel(32)
    model.reset(list(range(1, 11)), 10)
    model.add_rows(0, [row(i) for i in range(1, 11)])
    qtmodeltester.check(model)


def test_rows_and_thumbnails_are_requested_not_loaded(qtbot) -> None:
    model = ImageListModel(32)
    model.reset([5, 6, 7], 3)
    wanted: list[list[int]] = []
    thumbs: list[list[tuple[int, str]]] = []
    model.rows_wanted.connect(lambda _epoch, ids: wanted.append(ids))
    model.thumbnails_wanted.connect(thumbs.append)
    idx = model.index(0)
    assert idx.data(IMAGE_ID_ROLE) == 5
    assert idx.data(Qt.ItemDataRole.DisplayRole) == "…"
    assert wanted == [[5, 6, 7]]  # one request for the neighbourhood
    model.index(1).data(Qt.ItemDataRole.DisplayRole)
    assert len(wanted) == 1  # already requested: not asked again
    with qtbot.waitSignal(model.dataChanged):
        model.add_rows(0, [row(5), row(6), row(7)])
    assert idx.data(Qt.ItemDataRole.DisplayRole) == "5.png"
    assert idx.data(HASH_ROLE) == f"{5:064x}"
    with qtbot.waitSignal(model.thumbnails_wanted):  # once the paint that asked is over
        idx.data(Qt.ItemDataRole.DecorationRole)
        model.index(1).data(Qt.ItemDataRole.DecorationRole)
        idx.data(Qt.ItemDataRole.DecorationRole)  # already asked for: not again
    assert thumbs == [[(5, f"{5:064x}"), (6, f"{6:064x}")]]  # one request for both
    img = QImage(8, 8, QImage.Format.Format_RGB32)
    img.fill(QColor("red"))
    with qtbot.waitSignal(model.dataChanged) as changed:
        model.add_thumbnails([(5, img), (7, QImage())])  # 7: none to be had
    assert Qt.ItemDataRole.DecorationRole in changed.args[2]


def test_paging_asks_for_more_and_ignores_stale_pages(qapp) -> None:
    model = ImageListModel(32)
    gen = model.reset(list(range(PAGE)), PAGE + 3)
    pages: list[tuple[int, int, int]] = []
    model.page_wanted.connect(lambda g, o, n: pages.append((g, o, n)))
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())  # a page is already on its way
    assert pages == [(gen, PAGE, PAGE)]
    model.append_ids(gen - 1, PAGE, [999])  # from an earlier search: dropped
    assert model.rowCount() == PAGE
    model.append_ids(gen, PAGE, [PAGE, PAGE + 1, PAGE + 2])
    assert model.rowCount() == PAGE + 3
    assert not model.canFetchMore(QModelIndex())
    assert model.row_for(PAGE + 2) == PAGE + 2
