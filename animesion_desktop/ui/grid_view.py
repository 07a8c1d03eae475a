"""The image grid: equal cells in reading order over ``ImageListModel``, holding its place
across refreshes, with costs that depend on what is on screen, not on how many rows are loaded.

Why not ``QListView``: in icon mode it keeps one item per row and rebuilds all of them on every
``rowsInserted``; in list mode it still walks every row on each layout, asking the model for
each row's index (a call into Python per row, through ``rowCount``), and it lays out again on
every ``dataChanged``. With 100,000 rows loaded each new page stalled the event loop for
seconds. Here a cell's place is arithmetic on its row number, so a page of new rows only moves
the scroll bar's range, and hit-testing, keyboard moves and painting touch the visible cells
only. The delegate draws each cell as an icon view would (picture on top, name centred below).

The model applies a refresh as a diff, so the selection and the current index survive by
themselves; what a view must do is keep the image at the top where it was, or rows inserted
above it would push the user's place down.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QPainter, QPaintEvent, QRegion
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
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
    """Picture on top, name centred and elided below, as an icon view draws a cell."""

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
        return self._view.gridSize()  # every cell is one grid square


class GridView(QAbstractItemView):
    """A grid of equal cells, row-major, wrapping at the viewport's width.

    Where a row's cell is follows from its number alone, so laying out, hit-testing and
    painting cost what is on screen, whatever the number of rows: nothing walks the rows.
    """

    painted = Signal()  # after each paint of the viewport (benchmarks time the grid with it)

    def __init__(self, model: ImageListModel, thumb: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cell = cell_size(thumb)
        self._model = model
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setItemDelegate(CellDelegate(self))
        self.set_thumbnail_size(thumb)
        self.setModel(model)
        for signal in (model.rowsInserted, model.rowsRemoved, model.rowsMoved,
                       model.modelReset, model.layoutChanged):
            signal.connect(self._relayout)
        self._anchor: tuple[int, int] | None = None  # (image id at the top, its offset)
        model.about_to_diff.connect(self._remember_place)
        model.diffed.connect(self._restore_place)

    # -- geometry: a cell's place is arithmetic on its row ------------------------------------
    def gridSize(self) -> QSize:  # noqa: N802 - the name QListView uses
        return QSize(self._cell)

    def set_thumbnail_size(self, thumb: int) -> None:
        top = self._top_index() if self.model() is not None else QModelIndex()
        self.setIconSize(QSize(thumb, thumb))
        self._cell = cell_size(thumb)
        self._relayout()
        if top.isValid():  # the image that was at the top stays in the top line
            self.scrollTo(top, QAbstractItemView.ScrollHint.PositionAtTop)

    def _columns(self) -> int:
        return max(1, self.viewport().width() // max(1, self._cell.width()))

    def _cell_rect(self, row: int) -> QRect:
        """The row's cell in viewport coordinates."""
        c, w, h = self._columns(), self._cell.width(), self._cell.height()
        return QRect((row % c) * w, (row // c) * h - self.verticalOffset(), w, h)

    def _row_at(self, x: int, y: int) -> int | None:
        """The row whose cell holds viewport point (x, y), if any."""
        w, h, c = self._cell.width(), self._cell.height(), self._columns()
        y += self.verticalOffset()
        if x < 0 or y < 0 or x // w >= c:
            return None
        row = (y // h) * c + x // w
        return row if row < self._model.rowCount() else None

    def _relayout(self, *_args: object) -> None:
        self.updateGeometries()
        self.viewport().update()

    def updateGeometries(self) -> None:  # noqa: N802 - Qt override
        n, c, h = self._model.rowCount(), self._columns(), self._cell.height()
        height = -(-n // c) * h  # whole lines of cells
        bar = self.verticalScrollBar()
        page = self.viewport().height()
        bar.setRange(0, max(0, height - page))
        bar.setPageStep(page)
        bar.setSingleStep(max(8, h // 4))
        super().updateGeometries()  # asks for more rows when the last one is in view

    def visualRect(self, index: Index) -> QRect:  # noqa: N802 - Qt override
        if not index.isValid() or not 0 <= index.row() < self._model.rowCount():
            return QRect()
        return self._cell_rect(index.row())

    def indexAt(self, point: QPoint) -> QModelIndex:  # noqa: N802 - Qt override
        row = self._row_at(point.x(), point.y())
        return QModelIndex() if row is None else self._model.index(row)

    def scrollTo(self, index: Index,  # noqa: N802 - Qt override
                 hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible
                 ) -> None:
        rect = self.visualRect(index)
        if not rect.isValid():
            return
        bar, height = self.verticalScrollBar(), self.viewport().height()
        hints = QAbstractItemView.ScrollHint
        if hint == hints.PositionAtTop or (hint == hints.EnsureVisible and rect.top() < 0):
            bar.setValue(bar.value() + rect.top())
        elif hint == hints.PositionAtBottom or (hint == hints.EnsureVisible
                                                and rect.bottom() >= height):
            bar.setValue(bar.value() + rect.bottom() + 1 - height)
        elif hint == hints.PositionAtCenter:
            bar.setValue(bar.value() + rect.center().y() - height // 2)

    def horizontalOffset(self) -> int:  # noqa: N802 - Qt override
        return 0

    def verticalOffset(self) -> int:  # noqa: N802 - Qt override
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: Index) -> bool:  # noqa: N802 - Qt override
        return False

    def moveCursor(self, action: QAbstractItemView.CursorAction,  # noqa: N802 - Qt override
                   modifiers: Qt.KeyboardModifier) -> QModelIndex:
        n = self._model.rowCount()
        if n == 0:
            return QModelIndex()
        current = self.currentIndex()
        if not current.isValid():
            return self._model.index(0)
        row, c = current.row(), self._columns()
        page = max(1, self.viewport().height() // max(1, self._cell.height())) * c
        a = QAbstractItemView.CursorAction
        last_line = (n - 1) // c
        targets = {
            a.MoveLeft: row - 1, a.MovePrevious: row - 1, a.MoveRight: row + 1,
            a.MoveNext: row + 1, a.MoveHome: 0, a.MoveEnd: n - 1,
            a.MoveUp: row - c if row >= c else row,
            # down from the line above a short last line lands on its last cell
            a.MoveDown: min(row + c, n - 1) if row // c < last_line else row,
            a.MovePageUp: max(row - page, row % c), a.MovePageDown: min(row + page, n - 1),
        }
        target = targets.get(action, row)
        return self._model.index(min(max(target, 0), n - 1))

    def setSelection(self, rect: QRect,  # noqa: N802 - Qt override
                     command: QItemSelectionModel.SelectionFlag) -> None:
        # A rubber band selects the cells it covers; a click or Shift+click/keys select every
        # row from the one cell to the other, in reading order (as QListView does).
        model, c = self._model, self._columns()
        selection = QItemSelection()
        if self.state() == QAbstractItemView.State.DragSelectingState:
            box = rect.normalized()
            w, h = self._cell.width(), self._cell.height()
            top, bottom = box.top() + self.verticalOffset(), box.bottom() + self.verticalOffset()
            first_col, last_col = max(0, box.left() // w), min(c - 1, box.right() // w)
            for line in range(max(0, top // h), bottom // h + 1):
                first = line * c + first_col
                last = min(line * c + last_col, model.rowCount() - 1)
                if first <= last:
                    selection.select(model.index(first), model.index(last))
        else:
            ends = [self._row_at(p.x(), p.y()) for p in (rect.topLeft(), rect.bottomRight())]
            rows = [r for r in ends if r is not None]
            if rows:
                selection.select(model.index(min(rows)), model.index(max(rows)))
        self.selectionModel().select(selection, command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:  # noqa: N802
        visible = self.visible_rows()
        for k in range(selection.count()):
            rng = selection.at(k)
            if rng.top() < visible.stop and rng.bottom() >= visible.start:
                return QRegion(self.viewport().rect())  # repaint what shows: a few cells
        return QRegion()

    # -- painting: only the cells on screen -----------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self.viewport())
        base = QStyleOptionViewItem()
        self.initViewItemOption(base)
        selection = self.selectionModel()
        current = self.currentIndex()
        delegate = self.itemDelegate()
        focus = self.hasFocus()
        for row in self.visible_rows():
            index = self._model.index(row)
            option = QStyleOptionViewItem(base)
            option.rect = self._cell_rect(row)
            if not option.rect.intersects(event.rect()):
                continue
            if selection.isSelected(index):
                option.state |= QStyle.StateFlag.State_Selected
            if focus and index == current:
                option.state |= QStyle.StateFlag.State_HasFocus
            delegate.paint(painter, option, index)
        painter.end()
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
        c, h = self._columns(), max(1, self._cell.height())
        top = self.verticalOffset()
        first_line, last_line = top // h, (top + self.viewport().height() - 1) // h
        return range(first_line * c, min(self._model.rowCount(), (last_line + 1) * c))

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
        rect = self.visualRect(self._model.index(row))
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + rect.top() - top)
