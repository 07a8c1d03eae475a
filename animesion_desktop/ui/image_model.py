"""The grid's item model: it holds image ids and fetches everything else lazily.

``data()`` never touches the database or the disk. A missing row or thumbnail is requested from
a worker and the model emits ``dataChanged`` (with the roles that changed) when it arrives, so a
grid over a million images stays instant. Ids arrive page by page through ``fetchMore``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap

from animesion_desktop.core.views import GridRow as ImageRow

IMAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
HASH_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3

PAGE = 500
THUMB_CACHE = 3000

Index = QModelIndex | QPersistentModelIndex


class ImageListModel(QAbstractListModel):
    """Rows are image ids; pages, rows and thumbnails are asked for through signals."""

    page_wanted = Signal(int, int, int)  # generation, offset, limit
    rows_wanted = Signal(list)  # list[int]: ids whose ImageRow is needed
    thumbnail_wanted = Signal(int, str)  # image id, hash

    def __init__(self, icon_size: int = 160, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids: list[int] = []
        self._total = 0
        self._generation = 0
        self._paging = False
        self._rows: dict[int, ImageRow] = {}
        self._requested_rows: set[int] = set()
        self._thumbs: OrderedDict[int, QIcon] = OrderedDict()
        self._requested_thumbs: set[int] = set()
        self._row_of: dict[int, int] = {}
        self._placeholder = self._make_placeholder(icon_size)

    @staticmethod
    def _make_placeholder(size: int) -> QIcon:
        pix = QPixmap(QSize(size, size))
        pix.fill(QColor("#2b2d31"))
        return QIcon(pix)

    # -- contents ---------------------------------------------------------------------------
    def reset(self, first_page: Sequence[int], total: int) -> int:
        """A new result: its first ids and total count. Returns its generation number."""
        self.beginResetModel()
        self._generation += 1
        self._paging = False
        self._ids = list(first_page)
        self._total = max(total, len(self._ids))
        self._row_of = {image_id: i for i, image_id in enumerate(self._ids)}
        self._requested_rows.clear()
        self.endResetModel()
        return self._generation

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def total(self) -> int:
        return self._total

    def image_id(self, row: int) -> int:
        return self._ids[row]

    def row_for(self, image_id: int) -> int | None:
        return self._row_of.get(image_id)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and not self._paging and len(self._ids) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008, N802
        # Never read here: ask for the next page and insert it when a worker delivers it.
        if not self.canFetchMore(parent):
            return
        self._paging = True
        self.page_wanted.emit(self._generation, len(self._ids), PAGE)

    def append_ids(self, generation: int, ids: Sequence[int]) -> None:
        if generation != self._generation:
            return  # a page of a search that has since been replaced
        self._paging = False
        more = [i for i in ids if i not in self._row_of]
        if not more:
            self._total = len(self._ids)
            return
        first = len(self._ids)
        self.beginInsertRows(QModelIndex(), first, first + len(more) - 1)
        for offset, image_id in enumerate(more):
            self._row_of[image_id] = first + offset
        self._ids.extend(more)
        self.endInsertRows()

    # -- data -------------------------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        image_id = self._ids[index.row()]
        if role == IMAGE_ID_ROLE:
            return image_id
        row = self._rows.get(image_id)
        if row is None:
            self._want_row(image_id)
        if role == Qt.ItemDataRole.DecorationRole:
            icon = self._thumbs.get(image_id)
            if icon is not None:
                self._thumbs.move_to_end(image_id)
                return icon
            if row is not None and image_id not in self._requested_thumbs:
                self._requested_thumbs.add(image_id)
                self.thumbnail_wanted.emit(image_id, row.hash)
            return self._placeholder
        if row is None:
            return "…" if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.DisplayRole:
            return row.path.rsplit("/", 1)[-1]
        if role == Qt.ItemDataRole.ToolTipRole:
            size = f"{row.width}×{row.height}" if row.width else "size unknown"
            tags = " ".join(row.tags[:20]) or "no tags"
            return f"{row.path}\n{size}\n{tags}"
        if role == HASH_ROLE:
            return row.hash
        if role == PATH_ROLE:
            return row.path
        return None

    def _want_row(self, image_id: int) -> None:
        if image_id in self._requested_rows:
            return
        # Ask for the visible neighbourhood at once: one query per screenful, not per cell.
        row = self._row_of.get(image_id, 0)
        batch = [i for i in self._ids[row : row + 64]
                 if i not in self._rows and i not in self._requested_rows]
        self._requested_rows.update(batch)
        self.rows_wanted.emit(batch)

    # -- arrivals from workers --------------------------------------------------------------
    def add_rows(self, rows: Sequence[ImageRow]) -> None:
        changed = []
        for r in rows:
            self._rows[r.image_id] = r
            self._requested_rows.discard(r.image_id)
            if (i := self._row_of.get(r.image_id)) is not None:
                changed.append(i)
        self._emit_changed(changed, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                                     Qt.ItemDataRole.DecorationRole])

    def forget_rows(self, image_ids: Sequence[int]) -> None:
        """Rows whose tags changed: drop them so they are fetched again."""
        for image_id in image_ids:
            self._rows.pop(image_id, None)
        changed = [self._row_of[i] for i in image_ids if i in self._row_of]
        self._emit_changed(changed, [Qt.ItemDataRole.ToolTipRole])

    def add_thumbnail(self, image_id: int, image: QImage) -> None:
        self._requested_thumbs.discard(image_id)
        if image.isNull():
            return
        self._thumbs[image_id] = QIcon(QPixmap.fromImage(image))
        while len(self._thumbs) > THUMB_CACHE:
            self._thumbs.popitem(last=False)
        if (i := self._row_of.get(image_id)) is not None:
            self._emit_changed([i], [Qt.ItemDataRole.DecorationRole])

    def _emit_changed(self, rows: list[int], roles: list[Qt.ItemDataRole]) -> None:
        if not rows:
            return
        lo, hi = min(rows), max(rows)
        self.dataChanged.emit(self.index(lo), self.index(hi), roles)
