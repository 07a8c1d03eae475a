"""The image grid: a wrapping list view over ``ImageListModel`` that holds its place across
refreshes and keeps its layout cost flat however many rows are loaded.

Why not ``QListView.IconMode``: icon mode keeps one item (and a BSP tree entry) per row and
rebuilds all of them on every ``rowsInserted``, asking the model for each row's index on the
way, so with 100,000 rows loaded each new page stalled the event loop for seconds. List mode
with a left-to-right wrapping flow and a fixed grid lays rows out as two integer vectors, with
no call into the model per row; the delegate draws each cell as an icon view would (picture on
top, name centred below). A change of a row's data never changes its size here (every cell is
a grid square), so ``dataChanged`` repaints without the relayout list mode would schedule.

The model applies a refresh as a diff, so the selection and the current index survive by
themselves; what a view must do is keep the image at the top where it was, or rows inserted
above it would push the user's place down.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from animesion_desktop.ui.image_model import IMAGE_ID_ROLE, ImageListModel

Index = QModelIndex | QPersistentModelIndex
PAD_W, PAD_H = 24, 36  # room around the picture in a cell: margins, and the name below


def cell_size(thumb: int) -> QSize:
    return QSize(thumb + PAD_W, thumb + PAD_H)


class CellDelegate(QStyledItemDelegate):
    """Picture on top, name centred and elided below: what icon mode draws, in list mode."""

    def __init__(self, view: GridView) -> None:
        super().__init__(view)
        self._view = view

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:  # noqa: N802
        super().initStyleOption(option, index)
        option.decorationPosition = QStyleOptionViewItem.Position.Top
        option.decorationAlignment = Qt.AlignmentFlag.AlignHCenter
        option.displayAlignment = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        option.textElideMode = Qt.TextElideMode.ElideMiddle
        option.features &= ~QStyleOptionViewItem.ViewItemFeature.WrapText

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        return self._view.gridSize()  # one size for all: the view asks only once


class GridView(QListView):
    painted = Signal()  # after each paint of the viewport (benchmarks time the grid with it)

    def __init__(self, model: ImageListModel, thumb: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setItemDelegate(CellDelegate(self))
        self.set_thumbnail_size(thumb)
        self.setModel(model)
        self._model = model
        self._anchor: tuple[int, int] | None = None  # (image id at the top, its offset)
        model.about_to_diff.connect(self._remember_place)
        model.diffed.connect(self._restore_place)

    def set_thumbnail_size(self, thumb: int) -> None:
        self.setIconSize(QSize(thumb, thumb))
        self.setGridSize(cell_size(thumb))
        self.verticalScrollBar().setSingleStep(max(8, cell_size(thumb).height() // 4))

    # -- cost control -----------------------------------------------------------------------
    def dataChanged(self, top_left: Index, bottom_right: Index,  # noqa: N802 - Qt override
                    roles: Sequence[int] = ()) -> None:
        # Skip QListView's override: in list mode it schedules a relayout of every row for any
        # change, and a change here never moves a cell. The base class repaints the cells.
        QAbstractItemView.dataChanged(self, top_left, bottom_right, list(roles))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        self.painted.emit()

    # -- what is where ----------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        # From the selection's ranges and the model's id list: no index object or data() call
        # per row, so a selection of the whole result (100,000 rows) costs milliseconds.
        ids: set[int] = set()
        selection = self.selectionModel().selection()
        for k in range(selection.count()):
            rng = selection.at(k)
            ids.update(self._model.ids_between(rng.top(), rng.bottom()))
        return sorted(ids)

    def select_rows(self, first: int, last: int) -> None:
        """Select rows first..last as one range (Select all over a whole result)."""
        if last < first:
            return
        model = self._model
        selection = QItemSelection(model.index(first), model.index(last))
        self.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def current_id(self) -> int | None:
        current = self.currentIndex()
        return current.data(IMAGE_ID_ROLE) if current.isValid() else None

    def _top_index(self) -> QModelIndex:
        # The first cell of the top row: probe down the middle of the first column.
        cell = self.gridSize()
        for y in range(0, max(cell.height(), 1), 6):
            index = self.indexAt(QPoint(cell.width() // 2, y))
            if index.isValid():
                return index
        return QModelIndex()

    def visible_rows(self) -> range:
        """The rows with a cell (partly) on screen."""
        top = self._top_index()
        if not top.isValid():
            return range(0)
        cell = self.gridSize()
        vp = self.viewport()
        columns = max(1, vp.width() // max(cell.width(), 1))
        lines = vp.height() // max(cell.height(), 1) + 2
        last = min(self._model.rowCount(), top.row() + columns * lines)
        return range(top.row(), last)

    def top_id(self) -> int | None:
        index = self._top_index()
        return index.data(IMAGE_ID_ROLE) if index.isValid() else None

    def _remember_place(self) -> None:
        self._anchor = None
        if self.verticalScrollBar().value() == 0:
            return  # at the top: stay at the top, new images are meant to be seen
        index = self._top_index()
        if index.isValid():
            self._anchor = (index.data(IMAGE_ID_ROLE), self.visualRect(index).top())

    def _restore_place(self) -> None:
        if self._anchor is None:
            return
        image_id, top = self._anchor
        self._anchor = None
        row = self._model.row_for(image_id)
        if row is None:
            return
        self.executeDelayedItemsLayout()
        rect = self.visualRect(self._model.index(row))
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + rect.top() - top)
