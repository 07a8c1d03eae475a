"""Turning a PIL image into one model input sample, as a pack's InputSpec says.

Orientation (EXIF) and draft decoding are the caller's job; this only composites, resizes,
normalises and lays out.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.spec import InputSpec

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def to_rgb(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """RGB image; transparency is composited over ``background`` (never left black)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")  # convert() would copy


def resize(
    image: Image.Image, size: int, mode: str, pad_color: tuple[int, int, int],
    interpolation: str = "bicubic",
) -> Image.Image:
    resample = _RESAMPLE[interpolation]
    w, h = image.size
    if mode == "pad":
        # Centre on a square of the longest side, then scale: the whole picture stays visible.
        side = max(w, h)
        if (w, h) != (side, side):
            canvas = Image.new("RGB", (side, side), pad_color)
            canvas.paste(image, ((side - w) // 2, (side - h) // 2))
            image = canvas
    elif mode == "crop":
        # Scale the shortest side to `size`, then cut the centre square.
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        if (nw, nh) != (w, h):
            image = image.resize((nw, nh), resample)
        left, top = (nw - size) // 2, (nh - size) // 2
        return image.crop((left, top, left + size, top + size))
    if image.size != (size, size):
        image = image.resize((size, size), resample)
    return image


def preprocess_image(image: Image.Image, spec: InputSpec) -> np.ndarray:
    """One sample, float32: [3, S, S] for NCHW or [S, S, 3] for NHWC."""
    rgb = resize(to_rgb(image, spec.pad_color), spec.size, spec.resize, spec.pad_color,
                 spec.interpolation)
    x = np.asarray(rgb)  # [S, S, 3] RGB uint8
    if spec.channel_order == "BGR":
        x = x[:, :, ::-1]
    # (x * scale - mean) / std as one multiply-add per value, straight from uint8 into the
    # output array: a third of the time of the step-by-step float arithmetic.
    std = np.asarray(spec.std, dtype=np.float64)
    gain = (spec.scale / std).astype(np.float32)
    offset = (-np.asarray(spec.mean, dtype=np.float64) / std).astype(np.float32)
    if spec.layout == "NCHW":
        x = x.transpose(2, 0, 1)  # [S, S, 3] -> [3, S, S], a view
        gain, offset = gain[:, None, None], offset[:, None, None]
    out = np.empty(x.shape, dtype=np.float32)
    np.multiply(x, gain, out=out)
    out += offset
    return out
