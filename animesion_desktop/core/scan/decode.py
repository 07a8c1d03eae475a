"""Opening images safely: only the formats we index, a per-call pixel limit, one-line errors.

``Image.open`` reads only the header, so the size is known before any pixel is decoded; an image
over the limit is refused there and never loaded. The limit is an argument, not Pillow's global
``Image.MAX_IMAGE_PIXELS`` (which we never change): worker threads do not touch global state.
Pillow's own, larger, limit still applies underneath and is reported the same way.
"""

from __future__ import annotations

import os
import struct
from typing import IO

from PIL import Image, ImageFile, UnidentifiedImageError

# Register every plugin once, at import, instead of lazily from several worker threads at once.
Image.init()

DEFAULT_MAX_PIXELS = 150_000_000  # 150 megapixels: a 12,000 x 12,500 image is still fine
FORMATS: tuple[str, ...] = tuple(
    f for f in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "DIB", "TIFF", "AVIF") if f in Image.OPEN
)


class ImageRefused(Exception):
    """An image we will not decode (over the pixel limit: a possible decompression bomb)."""


def _megapixels(pixels: int) -> str:
    if pixels >= 10_000_000:
        return f"{pixels / 1e6:.0f} MP"
    return f"{pixels / 1e6:.1f} MP" if pixels >= 100_000 else f"{pixels:,} pixels"


def open_image(
    source: str | bytes | os.PathLike[str] | IO[bytes], *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> ImageFile.ImageFile:
    """Open an image lazily (header only), refusing formats we do not index and huge images."""
    try:
        im = Image.open(source, formats=list(FORMATS))
    except Image.DecompressionBombError as exc:
        raise ImageRefused(
            f"refused: the image is far too large to decode (possible decompression bomb): {exc}"
        ) from None
    width, height = im.size
    if width <= 0 or height <= 0:
        im.close()
        raise ImageRefused(f"damaged image: impossible size {width}x{height}")
    if width * height > max_pixels:
        im.close()
        raise ImageRefused(
            f"refused: {width}x{height} ({_megapixels(width * height)}) is over the "
            f"{_megapixels(max_pixels)} limit (possible decompression bomb)"
        )
    return im


def describe_image_error(exc: BaseException) -> str:
    """One clear line for why an image could not be read or decoded."""
    if isinstance(exc, ImageRefused):
        return str(exc)
    if isinstance(exc, UnidentifiedImageError):
        return "not a readable image (unknown or unsupported format)"
    if isinstance(exc, PermissionError):
        return "cannot read the file: permission denied"
    if isinstance(exc, MemoryError):
        return "too large to decode (out of memory)"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "truncated" in text:
        return f"damaged image: the file is truncated ({text})"
    if isinstance(exc, (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)):
        return f"damaged image: {text}"
    return f"unexpected error while decoding: {type(exc).__name__}: {text}"
