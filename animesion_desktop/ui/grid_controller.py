"""Feeds the grid: runs searches, pages of ids, row batches and thumbnails on the read lane.

The query the user asked for last is the one that counts: a refresh reruns it (even while its
first answer is still on its way), and an answer to any older request is dropped by the lane.
A refresh of the query already shown is applied to the model as a diff, not a reset.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from animesion_desktop.core import views
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import ensure_thumbnail
from animesion_desktop.core.search import search
from animesion_desktop.ui.image_model import ImageListModel, ImageRow
from animesion_desktop.ui.lanes import ReadLane

_SEARCH = "search"
_THUMB_PRIORITY = -1  # behind searches and the inspector on the same pool


class GridController(QObject):
    """Owns no widgets: it answers the model's requests and reports search outcomes."""

    searched = Signal(str, int, str)  # query, total, kind ("images" or "files")
    search_failed = Signal(str)  # message naming the position
    refreshed = Signal()  # a refresh of the shown query landed (the current image may differ)

    def __init__(self, lib: Library, model: ImageListModel, reads: ReadLane,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self._model = model
        self._reads = reads
        self._requested = ""  # the newest query asked for
        self._shown: str | None = None  # the query whose answer the model holds
        model.page_wanted.connect(self._load_page)
        model.rows_wanted.connect(self._load_rows)
        model.thumbnail_wanted.connect(self._load_thumbnail)

    @property
    def query(self) -> str:
        """The newest query the user asked for (what a refresh reruns)."""
        return self._requested

    def run_search(self, query: str) -> None:
        self._requested = query
        lib = self._lib
        # A diff needs at least as many ids as the grid holds, or loaded pages would vanish.
        limit = max(self._model.page_size, self._model.rowCount())

        def do() -> tuple[list[int], int, str]:
            result = search(lib, query, limit=limit, offset=0)
            return list(result.ids), int(result.total), result.kind

        def done(result: tuple[list[int], int, str]) -> None:
            ids, total, kind = result
            if kind != "images":  # file-level results (is:error) have no image to show
                ids, total = [], 0
            same = query == self._shown
            self._shown = query
            if same:
                self._model.update(ids, total)
            else:
                self._model.reset(ids, total)
            self.searched.emit(query, result[1], kind)
            if same:
                self.refreshed.emit()

        self._reads.run(_SEARCH, do, done, self._failed(query))

    def refresh(self) -> None:
        self.run_search(self._requested)

    def _failed(self, query: str):
        def failed(message: str) -> None:
            self._shown = None  # the grid no longer shows an answer to the failing query
            self.search_failed.emit(message)
        return failed

    def _load_page(self, generation: int, offset: int, limit: int) -> None:
        lib, query, model = self._lib, self._shown or "", self._model

        def do() -> list[int]:
            return list(search(lib, query, limit=limit, offset=offset).ids)

        self._reads.run(None, do, lambda ids: model.append_ids(generation, offset, ids),
                        self.search_failed.emit)

    def _load_rows(self, epoch: int, image_ids: list[int]) -> None:
        lib = self._lib

        def do() -> list[ImageRow]:
            return views.grid_rows(lib, image_ids)

        self._reads.run(None, do, lambda rows: self._model.add_rows(epoch, rows))

    def _load_thumbnail(self, image_id: int, image_hash: str) -> None:
        lib = self._lib
        path = views.thumbnail_file(lib, image_hash)

        def do() -> QImage:
            # QImage (unlike QPixmap) may be built off the GUI thread. A lost cache entry is
            # rebuilt from one of the image's files.
            image = QImage(path)
            if image.isNull() and ensure_thumbnail(lib, image_id) is not None:
                image = QImage(path)
            return image

        self._reads.run(None, do, lambda img: self._model.add_thumbnail(image_id, img),
                        priority=_THUMB_PRIORITY)
