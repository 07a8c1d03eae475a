"""Image decoding for training: only as many pixels as the transforms will keep."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from training.errors import DataError

# Truncated files are reported (DataError naming the file), not silently decoded: Pillow's
# LOAD_TRUNCATED_IMAGES is process-wide state and would change how the app's scanner judges files.


def load_rgb(path: Path, min_side: int | None = None) -> Image.Image:
    """Decode `path` as RGB, shrunk while decoding so its smaller side stays >= `min_side`.

    JPEGs use draft mode (the decoder skips DCT coefficients: 2-8x less work); other formats
    use Image.reduce, a fast box filter by an integer factor, before the exact resize.
    EXIF orientation is applied and transparent images are put on white, as the app does.
    """
    try:
        img: Image.Image = Image.open(path)
        if min_side and img.format == "JPEG":
            img.draft("RGB", (min_side, min_side))
        img.load()
        # Photos and scans carry an orientation tag: train on them upright, as the app shows them.
        ImageOps.exif_transpose(img, in_place=True)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot decode image ({exc})", path) from None
    if min_side:
        factor = min(img.size) // min_side
        if factor >= 2:
            img = img.reduce(factor)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB") if img.mode != "RGB" else img
