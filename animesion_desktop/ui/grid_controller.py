"""Feeds the grid: runs searches, pages of ids, row batches and thumbnails on the read lane.

The query the user asked for last is the one that counts: a refresh reruns it (even while its
first answer is still on its way), and an answer to any older request is dropped by the lane.
A refresh of the query already shown is applied to the model as a diff, not a reset.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from animesion_desktop.core import views
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import ensure_thumbnail
from animesion_desktop.core.search import search
from animesion_desktop.core.search.neighbours import shown_order  # similar: nearest first
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
        self._order = "newest"  # one of core.search ORDERS; a new order is a new answer
        model.page_wanted.connect(self._load_page)
        model.rows_wanted.connect(self._load_rows)
        model.thumbnails_wanted.connect(self._load_thumbnails)

    @property
    def query(self) -> str:
        """The newest query the user asked for (what a refresh reruns)."""
        return self._requested

    @property
    def order(self) -> str:
        return self._order

    def set_order(self, order: str, search: bool = True) -> None:
        """Sort the grid (newest, oldest, path, size, confidence, least_confident): the query
        runs again in that order, from the top (``search=False``: only for the next one)."""
        if order != self._order:
            self._order = order
            self._shown = None  # not a refresh: the rows all move, so start from the top
            if search:
                self.run_search(self._requested)

    def run_search(self, query: str) -> None:
        self._requested = query
        lib, order = self._lib, self._order
        # A refresh is applied as a diff, which needs at least as many ids as the grid holds
        # or loaded pages would vanish. A new query needs only its first page: asking for
        # every row loaded so far (100,000 after a scroll to the bottom) would make typing slow.
        same = query == self._shown
        limit = max(self._model.page_size, self._model.rowCount()) if same else \
            self._model.page_size

        def do() -> tuple[list[int], int, str]:
            result = search(lib, query, limit=limit, offset=0, order=shown_order(query, order))
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
        lib, query, model, order = self._lib, self._shown or "", self._model, self._order

        def do() -> list[int]:
            return list(search(lib, query, limit=limit, offset=offset, order=shown_order(query, order)).ids)

        def done(ids: list[int]) -> None:
            model.append_ids(generation, offset, ids)

        self._reads.run(None, do, done, self.search_failed.emit)

    def load_rest(self, then: Callable[[], None]) -> None:
        """Load every id of the shown result not loaded yet (one read), then call ``then``:
        Select all selects the whole result, not just the pages scrolled through."""
        model = self._model
        if model.complete:
            then()
            return
        lib, query, order = self._lib, self._shown or "", self._order
        generation, offset = model.generation, model.next_offset

        def do() -> list[int]:
            return list(search(lib, query, limit=None, offset=offset, order=shown_order(query, order)).ids)

        def done(ids: list[int]) -> None:
            if model.append_ids(generation, offset, ids, complete=True) or model.complete:
                then()
            elif model.generation == generation:
                self.load_rest(then)  # a page landed first: load what is left after it

        self._reads.run("rest", do, done, self.search_failed.emit)

    def _load_rows(self, epoch: int, image_ids: list[int]) -> None:
        lib = self._lib

        def do() -> list[ImageRow]:
            return views.grid_rows(lib, image_ids)

        self._reads.run(None, do, lambda rows: self._model.add_rows(epoch, rows))

    def _load_thumbnails(self, wanted: list[tuple[int, str]]) -> None:
        lib, model = self._lib, self._model
        paths = [(image_id, views.thumbnail_file(lib, image_hash)) for image_id, image_hash in wanted]

        def do() -> list[tuple[int, QImage]]:
            # QImage (unlike QPixmap) may be built off the GUI thread, and its decoding lets go
            # of the interpreter lock. A lost cache entry is rebuilt from one of its files.
            loaded = []
            for image_id, path in paths:
                image = QImage(path)
                if image.isNull() and ensure_thumbnail(lib, image_id) is not None:
                    image = QImage(path)
                loaded.append((image_id, image))
            return loaded

        self._reads.run(None, do, model.add_thumbnails, priority=_THUMB_PRIORITY)
