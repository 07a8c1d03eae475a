"""The grid's item model: it holds image ids and fetches everything else lazily.

``data()`` never touches the database or the disk. A missing row or thumbnail is requested from
a worker and the model emits ``dataChanged`` (with the roles that changed) when it arrives, so a
grid over a million images stays instant. Ids arrive page by page through ``fetchMore``.

A new answer to the *same* query is applied as a diff (rows removed, inserted, moved), never a
reset, so the view keeps its selection, current index and scroll position. Cached rows are
refetched after a refresh and only rows whose contents differ emit ``dataChanged``; the cache
is a bounded LRU.
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
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap

from animesion_desktop.core.views import GridRow as ImageRow

IMAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
HASH_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3

PAGE = 500
THUMB_CACHE = 3000
ROW_CACHE = 5000
ROW_BATCH = 64
REFETCH = 4 * ROW_BATCH  # rows refetched at once after a refresh: the most recently shown

Index = QModelIndex | QPersistentModelIndex
_ROW_ROLES = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
              Qt.ItemDataRole.DecorationRole]


class ImageListModel(QAbstractListModel):
    """Rows are image ids; pages, rows and thumbnails are asked for through signals."""

    page_wanted = Signal(int, int, int)  # generation, offset, limit
    rows_wanted = Signal(int, list)  # epoch, list[int]: ids whose ImageRow is needed
    # [(image id, hash), ...]: every thumbnail a paint asked for, in one request. One read and
    # one answer a screenful (not one a cell) keeps the workers' Python work, and so the GUI
    # thread's waits for the interpreter lock, small while the grid scrolls.
    thumbnails_wanted = Signal(list)
    about_to_diff = Signal()  # views anchor their scroll position on these two
    diffed = Signal()

    def __init__(self, icon_size: int = 160, parent: QObject | None = None,
                 page_size: int = PAGE, row_cache: int = ROW_CACHE) -> None:
        super().__init__(parent)
        self.page_size = page_size
        self._row_cache = row_cache
        self._ids: list[int] = []
        self._row_of: dict[int, int] = {}
        self._total = 0
        self._generation = 0
        self._next_offset = 0  # where the next page starts in the result (not len(ids))
        self._exhausted = False
        self._paging = False
        self._rows: OrderedDict[int, ImageRow] = OrderedDict()
        # A row answer older than an id's invalidation is stale; epochs order the requests.
        self._epoch = 0
        self._valid_from: dict[int, int] = {}
        self._requested_rows: set[int] = set()
        self._thumbs: OrderedDict[int, QIcon] = OrderedDict()
        self._requested_thumbs: set[int] = set()
        self._thumb_queue: list[tuple[int, str]] = []
        self._placeholder = self._make_placeholder(icon_size)

    @staticmethod
    def _make_placeholder(size: int) -> QIcon:
        pix = QPixmap(QSize(size, size))
        pix.fill(QColor("#2b2d31"))
        return QIcon(pix)

    # -- contents ---------------------------------------------------------------------------
    def reset(self, first_page: Sequence[int], total: int) -> int:
        """A new query's result: its first ids and total count. Returns its generation."""
        self.beginResetModel()
        self._generation += 1
        self._paging = False
        self._ids = list(dict.fromkeys(first_page))
        self._row_of = {image_id: i for i, image_id in enumerate(self._ids)}
        self._next_offset = len(first_page)
        self._total = max(total, len(self._ids))
        self._exhausted = len(self._ids) >= self._total
        self._requested_rows.clear()
        self.endResetModel()
        self._refetch_recent()
        return self._generation

    def update(self, ids: Sequence[int], total: int) -> int:
        """A fresh answer to the same query, covering at least the rows loaded so far: applied
        as removals, moves and insertions, then changed rows are refetched."""
        self.about_to_diff.emit()
        self._generation += 1  # pages of the old answer would land at shifted offsets
        self._paging = False
        target = list(dict.fromkeys(ids))
        keep = set(target)
        self._remove_missing(keep)
        self._reorder(target)
        self._next_offset = len(ids)
        self._total = max(total, len(self._ids))
        self._exhausted = len(self._ids) >= self._total
        for gone in [i for i in self._rows if i not in self._row_of]:
            del self._rows[gone]
        for gone in [i for i in self._thumbs if i not in self._row_of]:
            del self._thumbs[gone]
        self._refetch_recent()
        self.diffed.emit()
        return self._generation

    def _remove_missing(self, keep: set[int]) -> None:
        i = len(self._ids) - 1
        while i >= 0:  # from the end, one contiguous run at a time
            if self._ids[i] in keep:
                i -= 1
                continue
            last = i
            while i >= 0 and self._ids[i] not in keep:
                i -= 1
            self.beginRemoveRows(QModelIndex(), i + 1, last)
            del self._ids[i + 1 : last + 1]
            self.endRemoveRows()
        self._reindex()

    def _reorder(self, target: list[int]) -> None:
        # Walk the target: afterwards self._ids[:i+1] == target[:i+1] at every step.
        present = set(self._ids)
        i = 0
        while i < len(target):
            want = target[i]
            if i < len(self._ids) and self._ids[i] == want:
                i += 1
                continue
            if want not in present:
                j = i  # a run of new ids goes in with one insert
                while j < len(target) and target[j] not in present:
                    j += 1
                self.beginInsertRows(QModelIndex(), i, j - 1)
                self._ids[i:i] = target[i:j]
                self.endInsertRows()
                present.update(target[i:j])
                i = j
                continue
            src = self._ids.index(want, i)
            self.beginMoveRows(QModelIndex(), src, src, QModelIndex(), i)
            self._ids.insert(i, self._ids.pop(src))
            self.endMoveRows()
            i += 1
        self._reindex()

    def _reindex(self) -> None:
        self._row_of = {image_id: i for i, image_id in enumerate(self._ids)}

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def total(self) -> int:
        return self._total

    @property
    def ids(self) -> list[int]:
        return list(self._ids)

    def image_id(self, row: int) -> int:
        return self._ids[row]

    def row_for(self, image_id: int) -> int | None:
        return self._row_of.get(image_id)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and not self._paging and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008, N802
        # Never read here: ask for the next page and insert it when a worker delivers it.
        if not self.canFetchMore(parent):
            return
        self._paging = True
        self.page_wanted.emit(self._generation, self._next_offset, self.page_size)

    def append_ids(self, generation: int, offset: int, ids: Sequence[int],
                   complete: bool = False) -> bool:
        """Insert a page that a worker fetched; ``complete``: it runs to the end of the result
        (Select all loads the rest at once). False if the page belongs to a replaced answer."""
        if generation != self._generation or offset != self._next_offset:
            return False  # a page of an answer that has since been replaced
        self._paging = False
        if not ids:
            self._exhausted = True  # the result ended (it shrank since its count was taken)
            self._total = len(self._ids)
            return True
        self._next_offset = offset + len(ids)
        more = [i for i in dict.fromkeys(ids) if i not in self._row_of]
        if more:
            first = len(self._ids)
            self.beginInsertRows(QModelIndex(), first, first + len(more) - 1)
            self._ids.extend(more)
            self._row_of.update((image_id, first + n) for n, image_id in enumerate(more))
            self.endInsertRows()
        self._total = max(self._total, len(self._ids))
        if complete or len(ids) < self.page_size:
            self._exhausted = True  # a short page: the result ends here
            self._total = len(self._ids)
        elif not more:
            # Every id was already shown: new images shifted the offsets. The result goes on,
            # so ask for the page after this one rather than stopping here.
            self.fetchMore()
        return True

    @property
    def next_offset(self) -> int:
        """Where the next page starts in the result."""
        return self._next_offset

    @property
    def complete(self) -> bool:
        """Every id of the result is loaded."""
        return self._exhausted

    def ids_between(self, first: int, last: int) -> list[int]:
        return self._ids[max(first, 0) : last + 1]

    def has_row(self, image_id: int) -> bool:
        return image_id in self._rows

    def has_thumbnail(self, image_id: int) -> bool:
        return image_id in self._thumbs

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
        else:
            self._rows.move_to_end(image_id)
        if role == Qt.ItemDataRole.DecorationRole:
            icon = self._thumbs.get(image_id)
            if icon is not None:
                self._thumbs.move_to_end(image_id)
                return icon
            if row is not None and image_id not in self._requested_thumbs:
                self._want_thumbnail(image_id, row.hash)
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
        batch = [i for i in self._ids[row : row + ROW_BATCH]
                 if i not in self._rows and i not in self._requested_rows]
        self._request(batch)

    def _want_thumbnail(self, image_id: int, image_hash: str) -> None:
        self._requested_thumbs.add(image_id)
        if not self._thumb_queue:  # the first of this paint: ask once the paint is over
            QTimer.singleShot(0, self, self._flush_thumbnails)
        self._thumb_queue.append((image_id, image_hash))

    def _flush_thumbnails(self) -> None:
        wanted, self._thumb_queue = self._thumb_queue, []
        if wanted:
            self.thumbnails_wanted.emit(wanted)

    def _request(self, image_ids: list[int]) -> None:
        if image_ids:
            self._requested_rows.update(image_ids)
            self.rows_wanted.emit(self._epoch, image_ids)

    def _refetch_recent(self) -> None:
        # Any cached row may be stale now. Refetch those shown last (on screen, most likely),
        # keeping them until the answer comes; drop the rest, fetched again when next shown.
        recent = list(self._rows)[-REFETCH:]
        for stale in list(self._rows)[:-REFETCH]:
            del self._rows[stale]
        self.invalidate_rows(recent)

    def invalidate_rows(self, image_ids: Sequence[int]) -> None:
        """These rows may have changed (tags, a move): refetch them, keeping what is shown until
        the answer arrives; rows that come back different emit ``dataChanged``."""
        cached = [i for i in image_ids if i in self._rows or i in self._requested_rows]
        if not cached:
            return
        self._epoch += 1
        for i in cached:
            self._valid_from[i] = self._epoch
        self._requested_rows.difference_update(cached)
        self._request([i for i in cached if i in self._row_of])
        for i in cached:
            if i not in self._row_of:
                self._rows.pop(i, None)
                self._valid_from.pop(i, None)

    # -- arrivals from workers --------------------------------------------------------------
    def add_rows(self, epoch: int, rows: Sequence[ImageRow]) -> None:
        changed = []
        for r in rows:
            if epoch < self._valid_from.get(r.image_id, 0):
                continue  # asked for before the row last changed: a newer answer is coming
            self._valid_from.pop(r.image_id, None)
            self._requested_rows.discard(r.image_id)
            if r.image_id not in self._row_of:
                continue
            old = self._rows.get(r.image_id)
            self._rows[r.image_id] = r
            self._rows.move_to_end(r.image_id)
            if old != r:
                changed.append(self._row_of[r.image_id])
        while len(self._rows) > self._row_cache:
            self._rows.popitem(last=False)
        self._emit_changed(changed, _ROW_ROLES)

    @property
    def cached_rows(self) -> int:
        return len(self._rows)

    def add_thumbnails(self, images: Sequence[tuple[int, QImage]]) -> None:
        """Thumbnails a worker loaded (a null image: none could be had): one repaint for all."""
        changed = []
        for image_id, image in images:
            self._requested_thumbs.discard(image_id)
            row = self._row_of.get(image_id)
            if image.isNull() or row is None:
                continue
            self._thumbs[image_id] = QIcon(QPixmap.fromImage(image))
            self._thumbs.move_to_end(image_id)
            changed.append(row)
        while len(self._thumbs) > THUMB_CACHE:
            self._thumbs.popitem(last=False)
        self._emit_changed(changed, [Qt.ItemDataRole.DecorationRole])

    def _emit_changed(self, rows: list[int], roles: list[Qt.ItemDataRole]) -> None:
        # One signal per contiguous run, so a change in two far rows does not repaint the range.
        rows = sorted(set(rows))
        start = 0
        for k in range(1, len(rows) + 1):
            if k == len(rows) or rows[k] != rows[k - 1] + 1:
                self.dataChanged.emit(self.index(rows[start]), self.index(rows[k - 1]), roles)
                start = k
