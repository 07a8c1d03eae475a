"""Full images for review, decoded on worker threads and kept in a small cache.

The page asks for the current image and the next few (prefetch), so a decision usually shows
an image that is already decoded. An unreadable file falls back to its thumbnail.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader

from animesion_desktop.ui.workers import TaskRunner

MAX_SIDE = 1280


def decode(paths: tuple[str, ...], max_side: int = MAX_SIDE) -> QImage:
    """The first of ``paths`` that decodes, EXIF-rotated and shrunk to ``max_side``."""
    for path in paths:
        if not path:
            continue
        reader = QImageReader(path)
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid() and max(size.width(), size.height()) > max_side:
            reader.setScaledSize(size.scaled(max_side, max_side,
                                             Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if not image.isNull():
            return image
    return QImage()


class ImageLoader(QObject):
    ready = Signal(int, QImage)  # image id, image (null if nothing could be decoded)

    def __init__(self, cache_size: int = 16, parent: QObject | None = None) -> None:
        super().__init__(parent)
        pool = QThreadPool(self)
        pool.setMaxThreadCount(2)
        self._runner = TaskRunner(pool, parent=self)
        self._cache: OrderedDict[int, QImage] = OrderedDict()
        self._pending: set[int] = set()
        self._cache_size = cache_size

    def get(self, image_id: int) -> QImage | None:
        image = self._cache.get(image_id)
        if image is not None:
            self._cache.move_to_end(image_id)
        return image

    def request(self, image_id: int, *paths: str) -> None:
        if image_id in self._cache or image_id in self._pending:
            return
        self._pending.add(image_id)
        self._runner.run(lambda: decode(paths), lambda img: self._store(image_id, img),
                         lambda _msg: self._store(image_id, QImage()))

    def _store(self, image_id: int, image: QImage) -> None:
        self._pending.discard(image_id)
        self._cache[image_id] = image
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        self.ready.emit(image_id, image)
