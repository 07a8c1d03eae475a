"""What a worker thread does for one file: read, hash, probe the header, make the thumbnail.

Runs on pool threads and touches no database and no global state: it returns a
:class:`Probed` and the writer records it. Every failure becomes a one-line reason.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from animesion_desktop.core.scan.decode import (
    DEFAULT_MAX_PIXELS,
    describe_image_error,
    open_image,
)
from animesion_desktop.core.scan.hashing import read_and_hash
from animesion_desktop.core.scan.thumbnails import (
    encode_thumbnail,
    make_thumbnail,
    thumbnail_path,
    write_thumbnail,
)
from animesion_desktop.core.scan.walk import describe_os_error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Probed:
    hash: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    error: str | None = None
    gone: bool = False
    thumbnail_made: bool = False
    # What ``also`` made of the decoded pixels (the one-pass job: model inputs); None when the
    # thumbnail was already cached (a known image: nothing was decoded) or on an error.
    payload: Any = None
    # What ``thumb_hash`` made of the thumbnail as written (decoded from its JPEG bytes, as a
    # later reader of the cache sees it): the one-pass job's perceptual hash.
    thumb_hash: Any = None


GONE = Probed(gone=True)


def process_file(
    path: bytes, size_hint: int, thumbs_dir: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS,
    also: Callable[[Image.Image], Any] | None = None, also_size: int | None = None,
    thumb_hash: Callable[[Image.Image], Any] | None = None,
) -> Probed:
    """Hash, probe and thumbnail one file. Never raises for a bad file.

    ``also``: called with the same decoded image (at least ``also_size`` on each side when the
    file is that large) when a thumbnail is made; its result is the ``payload``. It must not
    raise for a bad image (it reports what it could not do in its result).
    ``thumb_hash``: called with the thumbnail it made, re-read from the JPEG bytes it writes;
    its result is ``thumb_hash`` (None when no thumbnail was made or it raised).
    """
    try:
        digest, data = read_and_hash(path, size_hint)
    except FileNotFoundError:
        return GONE
    except OSError as exc:
        return Probed(error=f"cannot read the file: {describe_os_error(exc)}")
    if data is not None and not data:
        return Probed(hash=digest, error="empty file (0 bytes)")
    thumb = thumbnail_path(thumbs_dir, digest)
    made = False
    try:
        with open_image(io.BytesIO(data) if data is not None else path, max_pixels=max_pixels) as im:
            width, height = im.size
            fmt = im.format
            small = payload = None
            if not thumb.exists():
                small = make_thumbnail(im, at_least=also_size if also is not None else None)
                payload = also(im) if also is not None else None
    except FileNotFoundError:  # a large file, re-opened by path, vanished meanwhile
        return GONE
    except Exception as exc:  # a bad file is recorded, never raised: the scan goes on
        return Probed(hash=digest, error=describe_image_error(exc))
    hashed = None
    if small is not None:
        encoded = encode_thumbnail(small)
        try:
            write_thumbnail(encoded, thumb)
            made = True
        except OSError as exc:  # the cache is at fault, not the image: index it anyway
            log.warning("cannot write thumbnail %s: %s", thumb, exc)
        if made and thumb_hash is not None:
            try:
                with Image.open(io.BytesIO(encoded)) as written:
                    hashed = thumb_hash(written)
            except Exception as exc:  # left to the later pass that hashes from the cache
                log.debug("hashing the thumbnail %s failed: %s", thumb, exc)
    return Probed(digest, width, height, fmt, None, False, made, payload, hashed)
