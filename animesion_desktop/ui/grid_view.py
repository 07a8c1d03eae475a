"""The image grid: an icon view over ``ImageListModel`` that holds its place across refreshes.

The model applies a refresh as a diff, so the selection and the current index survive by
themselves; what a view must do is keep the image at the top where it was, or rows inserted
above it would push the user's place down.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QSize
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from animesion_desktop.ui.image_model import IMAGE_ID_ROLE, ImageListModel


class GridView(QListView):
    def __init__(self, model: ImageListModel, thumb: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(thumb, thumb))
        self.setGridSize(QSize(thumb + 24, thumb + 36))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setMovement(QListView.Movement.Static)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setModel(model)
        self._model = model
        self._anchor: tuple[int, int] | None = None  # (image id at the top, its offset)
        model.about_to_diff.connect(self._remember_place)
        model.diffed.connect(self._restore_place)

    def selected_ids(self) -> list[int]:
        selection = self.selectionModel()
        return sorted(i.data(IMAGE_ID_ROLE) for i in selection.selectedIndexes())

    def current_id(self) -> int | None:
        current = self.currentIndex()
        return current.data(IMAGE_ID_ROLE) if current.isValid() else None

    def _top_index(self) -> QModelIndex:
        # The first cell of the top row: probe down the middle of the first column, since a
        # cell's icon and text do not fill its grid square.
        cell = self.gridSize()
        for y in range(0, max(cell.height(), 1), 6):
            index = self.indexAt(QPoint(cell.width() // 2, y))
            if index.isValid():
                return index
        return QModelIndex()

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
