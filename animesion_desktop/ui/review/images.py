"""Images for review and the viewer: decoded on read-lane workers, kept in a small cache.

``decode`` runs on a worker (QImage and QImageReader are safe off the GUI thread; QPixmap is
not). The controller asks the read lane for the current image and the next few (read ahead),
so a decision usually shows an image that is already decoded. An unreadable file falls back
to its thumbnail.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QImageReader

MAX_SIDE = 1280  # review shows one image in a window: no need to hold more pixels
FULL_SIDE = 16_384  # the viewer's full size, bounded so a corrupt header cannot ask for GBs


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


class ImageCache:
    """The last few decoded images by image id (GUI thread only)."""

    def __init__(self, size: int = 16) -> None:
        self._cache: OrderedDict[int, QImage] = OrderedDict()
        self._size = size

    def get(self, image_id: int) -> QImage | None:
        image = self._cache.get(image_id)
        if image is not None:
            self._cache.move_to_end(image_id)
        return image

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._cache

    def ids(self) -> set[int]:
        return set(self._cache)

    def put(self, image_id: int, image: QImage) -> None:
        self._cache[image_id] = image
        self._cache.move_to_end(image_id)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)

    def clear(self) -> None:
        self._cache.clear()
