"""A small colour descriptor of a picture: what hair and eye colour carry, which ImageNet
features (trained to be invariant to colour shifts) under-weight.

Per region (the central box and its upper part, where the hair is), a histogram of the pixels'
colour: chromatic pixels by hue (:data:`HUE_BINS` bins, each pixel split linearly between its
two nearest) x saturation (2) x value (2), achromatic ones (low saturation or very dark) by
value (:data:`GREY_BINS`). Each region's histogram is L1-normalised and square-rooted (the
Hellinger map: a dot product of two becomes their Bhattacharyya coefficient), and the whole
vector is unit length. The picture is first shrunk to :data:`SIDE` px, so one costs well under a
millisecond on top of decoding.

benchmarks/bench_fewshot.py measures it beside the few-shot head's embeddings; the app's head
does not use it yet (it did not clear the bar set for that: see the README's few-shot figures).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

HUE_BINS = 12
GREY_BINS = 4
SIDE = 48
# (left, top, right, bottom) as fractions of the picture
REGIONS = ((0.1, 0.05, 0.9, 0.95), (0.1, 0.0, 0.9, 0.5))
PER_REGION = HUE_BINS * 4 + GREY_BINS
DIM = PER_REGION * len(REGIONS)
_MIN_SAT = 0.2
_MIN_VAL = 0.15


def _histogram(hsv: np.ndarray) -> np.ndarray:
    h = hsv[..., 0].ravel().astype(np.float32) / 256.0 * HUE_BINS  # [P] in [0, HUE_BINS)
    s = hsv[..., 1].ravel().astype(np.float32) / 255.0
    v = hsv[..., 2].ravel().astype(np.float32) / 255.0
    out = np.zeros(PER_REGION, dtype=np.float64)
    chroma = (s >= _MIN_SAT) & (v >= _MIN_VAL)
    if chroma.any():
        hc, sc, vc = h[chroma] - 0.5, s[chroma], v[chroma]
        lo = np.floor(hc)
        frac = hc - lo
        lo_bin = lo.astype(np.int64) % HUE_BINS
        hi_bin = (lo_bin + 1) % HUE_BINS
        cell = (sc >= 0.55).astype(np.int64) * 2 + (vc >= 0.6).astype(np.int64)  # [Pc] 0..3
        out[: HUE_BINS * 4] += np.bincount(lo_bin * 4 + cell, weights=1 - frac,
                                           minlength=HUE_BINS * 4)
        out[: HUE_BINS * 4] += np.bincount(hi_bin * 4 + cell, weights=frac,
                                           minlength=HUE_BINS * 4)
    grey = ~chroma
    if grey.any():
        g = np.minimum((v[grey] * GREY_BINS).astype(np.int64), GREY_BINS - 1)
        out[HUE_BINS * 4 :] += np.bincount(g, minlength=GREY_BINS)
    total = out.sum()
    return np.sqrt(out / total) if total > 0 else out


def descriptor(image: Image.Image) -> np.ndarray:
    """The unit colour descriptor [:data:`DIM`] (float32) of ``image``."""
    im = image.convert("RGB")
    im.thumbnail((SIDE, SIDE), Image.Resampling.BILINEAR)
    hsv = np.asarray(im.convert("HSV"))  # [H, W, 3] uint8
    height, width = hsv.shape[:2]
    parts = []
    for left, top, right, bottom in REGIONS:
        # rounded the same way from both sides: a picture and its mirror give one descriptor
        x0, y0 = round(left * width), round(top * height)
        x1 = max(x0 + 1, width - round((1 - right) * width))
        y1 = max(y0 + 1, height - round((1 - bottom) * height))
        parts.append(_histogram(hsv[y0:y1, x0:x1]))
    x = np.concatenate(parts)
    norm = float(np.linalg.norm(x))
    return np.asarray(x / norm if norm > 0 else x, dtype=np.float32)


def descriptors(images: Sequence[Image.Image]) -> np.ndarray:
    """[N, :data:`DIM`] descriptors of ``images``."""
    return np.stack([descriptor(im) for im in images]) if images else np.zeros((0, DIM),
                                                                               np.float32)

