"""Decoding one image for a model: fast, rotated upright, and never fatal to its batch.

JPEGs are opened in draft mode, so the decoder itself scales them down by 2, 4 or 8 when the
model needs far fewer pixels than the file has (the cheapest pixels are the ones never decoded).
The scale follows the scan's rule (``scan.thumbnails.draft_request``: the thumbnail's size and
the pack's input, whichever needs more), so the tagger and the one-pass job, which decodes once
for both, hand the model the very same pixels.
EXIF orientation is applied; transparency is kept (RGBA) so the pack's own preprocessing can
composite it onto the colour it was trained with. Every failure becomes a :class:`DecodeError`
with a one-line message, which the pipeline stores as that image's error record.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence

from PIL import Image, ImageOps

from animesion_desktop.core.scan.decode import describe_image_error
from animesion_desktop.core.scan.decode import open_image as open_lazily
from animesion_desktop.core.scan.thumbnails import draft_request


class DecodeError(Exception):
    """An image file that cannot be turned into pixels; the message says why, in one line."""


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info
    )


def upright(im: Image.Image) -> Image.Image:
    """A loaded image turned upright (EXIF) as RGB, or RGBA when it has transparency: what a
    pack's preprocessing receives, whether the pixels were decoded here or by the scan."""
    turned = ImageOps.exif_transpose(im)
    target = "RGBA" if _has_alpha(turned) else "RGB"
    return turned if turned.mode == target else turned.convert(target)


def open_image(path: str | os.PathLike[str], min_size: int | None = None) -> Image.Image:
    """Open ``path`` as an upright RGB or RGBA image, at least ``min_size`` on its short side
    when the file is that large (JPEG draft scaling never goes below it, nor below what the
    thumbnail needs: the scale the one-pass job decodes at).

    Opening goes through the scanner's ``open_image``, so tagging refuses exactly what the
    scanner refuses (formats, the pixel limit) and explains failures in the same words.
    """
    try:
        with warnings.catch_warnings():
            # Below our own pixel limit a large image is fine; PIL's warning is noise here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with open_lazily(path) as im:
                if im.format == "JPEG":
                    im.draft("RGB", draft_request(im.size, min_size))
                im.load()
                return upright(im)
    except FileNotFoundError:
        raise DecodeError("file not found") from None
    except Exception as exc:  # corrupt, truncated, refused, unreadable: one line, never fatal
        raise DecodeError(describe_image_error(exc)) from None


def open_first(paths: Sequence[str], min_size: int | None = None) -> tuple[Image.Image, str]:
    """The first of several copies of an image that decodes; the last error if none does."""
    if not paths:
        raise DecodeError("no readable file for this image")
    error: DecodeError | None = None
    for path in paths:
        try:
            return open_image(path, min_size), path
        except DecodeError as exc:
            error = exc
    assert error is not None
    raise error


def read_jpeg(paths: Sequence[str]) -> tuple[str, bytes] | None:
    """The first copy's bytes when it is a JPEG the scanner would open (format, pixel limit),
    for a device decoder (nvJPEG); None sends the image down the PIL path, which decides."""
    if not paths:
        return None
    try:
        with open(paths[0], "rb") as f:
            data = f.read()
        if not data.startswith(b"\xff\xd8"):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with open_lazily(io.BytesIO(data)) as im:  # the header only
                # CMYK (Adobe) JPEGs: decoders disagree on the inversion; PIL decides
                if im.format != "JPEG" or im.mode not in ("RGB", "L"):
                    return None
    except Exception:  # unreadable, refused, damaged: the PIL path says why, in its words
        return None
    return paths[0], data
