"""The grid view: cells in reading order, keys and clicks on them, and a page of new rows
costing what is on screen, not what is loaded (QListView called into the model once per loaded
row on every page: seconds of stall at 100,000 rows)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Qt

from animesion_desktop.ui.grid_view import GridView, cell_size
from animesion_desktop.ui.image_model import ImageListModel, Index


class CountingModel(ImageListModel):
    calls = 0

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        CountingModel.calls += 1
        return super().rowCount(parent)


def shown_grid(qtbot, model: ImageListModel, thumb: int = 64) -> GridView:
    view = GridView(model, thumb)
    qtbot.addWidget(view)
    cell = cell_size(thumb)
    view.resize(cell.width() * 4 + view.verticalScrollBar().sizeHint().width() + 8,
                cell.height() * 3)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_a_page_of_rows_costs_what_is_on_screen(qtbot) -> None:
    model = CountingModel(64)
    view = shown_grid(qtbot, model)
    generation = model.reset(list(range(1, 501)), 30_000)
    offset = 500
    while offset < 20_000:
        model.append_ids(generation, offset, list(range(offset + 1, offset + 501)))
        offset += 500
    qtbot.wait(10)
    CountingModel.calls = 0
    model.append_ids(generation, offset, list(range(offset + 1, offset + 501)))
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.wait(10)
    assert model.rowCount() == 20_500
    assert CountingModel.calls < 2_000  # a per-row layout would make 20,000 and more
    last = view.indexAt(QPoint(5, view.viewport().height() - 5))
    assert last.isValid() and last.row() >= 20_500 - 4 * 4


def test_cells_keys_and_clicks(qtbot) -> None:
    model = ImageListModel(64)
    view = shown_grid(qtbot, model)
    model.reset(list(range(1, 11)), 10)  # 4 columns: lines of 4, 4 and 2
    cell = cell_size(64)
    assert view.visualRect(model.index(5)).topLeft() == QPoint(cell.width(), cell.height())
    assert view.indexAt(QPoint(cell.width() * 2 + 3, 3)).row() == 2
    assert not view.indexAt(QPoint(cell.width() * 3 + 3, cell.height() * 2 + 3)).isValid()
    rect = view.visualRect(model.index(1))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.currentIndex().row() == 1
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.currentIndex().row() == 5
    qtbot.keyClick(view, Qt.Key.Key_Down)  # into the short last line: its last cell
    assert view.currentIndex().row() == 9
    qtbot.keyClick(view, Qt.Key.Key_Down)  # already on the last line: stays
    assert view.currentIndex().row() == 9
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.currentIndex().row() == 5
    qtbot.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert view.selected_ids() == [5, 6]  # ids are rows + 1
    shift_at = view.visualRect(model.index(8)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.ShiftModifier, shift_at)
    # from the anchor (row 5, where Shift+Left started) to row 8, in reading order
    assert view.selected_ids() == [6, 7, 8, 9]
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.currentIndex().row() == 0 and view.selected_ids() == [1]
    view.set_thumbnail_size(128)
    assert view.gridSize() == cell_size(128)
    assert view.visualRect(model.index(1)).left() == cell_size(128).width()
