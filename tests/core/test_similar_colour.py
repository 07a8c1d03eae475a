"""The colour descriptor measured by benchmarks/bench_fewshot.py."""

from __future__ import annotations

import numpy as np
from PIL import Image

from animesion_desktop.core.similar import colour

SKIN = (250, 220, 200)


def portrait(hair: tuple[int, int, int], rng: np.random.Generator, size: int = 96
             ) -> Image.Image:
    """A toy face: hair of this colour over the upper part, skin below, some noise."""
    a = np.empty((size, size, 3), dtype=np.float32)
    cut = int(size * rng.uniform(0.4, 0.55))
    a[:cut] = hair
    a[cut:] = SKIN
    a += rng.normal(0, 8, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


RED, BLUE = (200, 40, 50), (40, 70, 200)


def test_descriptor_is_unit_mirror_invariant_and_tells_hair_colours_apart() -> None:
    rng = np.random.default_rng(0)
    red, red2, blue = portrait(RED, rng), portrait(RED, rng), portrait(BLUE, rng)
    d = colour.descriptors([red, red2, blue])
    assert d.shape == (3, colour.DIM)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=1e-5)
    mirror = colour.descriptor(red.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    np.testing.assert_allclose(mirror, d[0], atol=0.01)
    assert d[0] @ d[1] > 0.95  # the same hair colour
    assert d[0] @ d[2] < 0.6  # another one
    grey = colour.descriptor(Image.new("RGB", (10, 30), (128, 128, 128)))
    assert np.isclose(np.linalg.norm(grey), 1.0)


def test_descriptors_of_nothing() -> None:
    assert colour.descriptors([]).shape == (0, colour.DIM)
