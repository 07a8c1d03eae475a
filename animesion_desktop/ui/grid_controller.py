"""Feeds the grid: runs searches, pages of ids, row batches and thumbnails on workers."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage

from animesion_desktop.core import views
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import ensure_thumbnail
from animesion_desktop.core.search import search
from animesion_desktop.ui.image_model import PAGE, ImageListModel, ImageRow
from animesion_desktop.ui.workers import TaskRunner


class GridController(QObject):
    """Owns no widgets: it answers the model's requests and reports search outcomes."""

    searched = Signal(str, int, str)  # query, total, kind ("images" or "files")
    search_failed = Signal(str)  # message naming the position

    def __init__(self, lib: Library, model: ImageListModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self._model = model
        self._query = ""
        self._reads = TaskRunner(parent=self)
        thumb_pool = QThreadPool(self)
        thumb_pool.setMaxThreadCount(2)
        self._thumbs = TaskRunner(thumb_pool, parent=self)
        model.page_wanted.connect(self._load_page)
        model.rows_wanted.connect(self._load_rows)
        model.thumbnail_wanted.connect(self._load_thumbnail)

    @property
    def query(self) -> str:
        return self._query

    def run_search(self, query: str) -> None:
        lib = self._lib

        def do() -> tuple[list[int], int, str]:
            result = search(lib, query, limit=PAGE, offset=0)
            return list(result.ids), int(result.total), result.kind

        def done(result: tuple[list[int], int, str]) -> None:
            self._query = query
            ids, total, kind = result
            # File-level results (is:error) have no image to show in the grid.
            self._model.reset(ids if kind == "images" else [], total if kind == "images" else 0)
            self.searched.emit(query, total, kind)

        self._reads.run(do, done, self.search_failed.emit)

    def refresh(self) -> None:
        self.run_search(self._query)

    def _load_page(self, generation: int, offset: int, limit: int) -> None:
        lib, query = self._lib, self._query

        def do() -> list[int]:
            return list(search(lib, query, limit=limit, offset=offset).ids)

        self._reads.run(do, lambda ids: self._model.append_ids(generation, ids),
                        self.search_failed.emit)

    def _load_rows(self, image_ids: list[int]) -> None:
        lib = self._lib

        def do() -> list[ImageRow]:
            return views.grid_rows(lib, image_ids)

        self._reads.run(do, self._model.add_rows)

    def _load_thumbnail(self, image_id: int, image_hash: str) -> None:
        path = views.thumbnail_file(self._lib, image_hash)

        lib = self._lib

        def do() -> QImage:
            # QImage (unlike QPixmap) may be built off the GUI thread. A lost cache entry is
            # rebuilt from one of the image's files.
            image = QImage(path)
            if image.isNull() and ensure_thumbnail(lib, image_id) is not None:
                image = QImage(path)
            return image

        self._thumbs.run(do, lambda img: self._model.add_thumbnail(image_id, img))
