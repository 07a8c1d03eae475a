"""Preprocessing by input spec, checked on hand-made images."""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.preprocess import preprocess_image
from models.spec import InputSpec

RAW = dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), scale=1.0)  # values stay 0..255


def test_transparent_pixels_are_composited_over_pad_color() -> None:
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent red
    image.putpixel((0, 0), (0, 0, 255, 255))  # one opaque blue pixel
    x = preprocess_image(image, InputSpec(size=4, layout="NHWC", **RAW))
    assert x.shape == (4, 4, 3)
    assert x[3, 3].tolist() == [255, 255, 255]  # white, not black and not red
    assert x[0, 0].tolist() == [0, 0, 255]
    grey = preprocess_image(image, InputSpec(size=4, layout="NHWC", pad_color=(9, 9, 9), **RAW))
    assert grey[3, 3].tolist() == [9, 9, 9]


def test_palette_with_transparency_is_composited() -> None:
    image = Image.new("P", (2, 2), 0)
    image.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    image.info["transparency"] = 0
    image.putpixel((1, 1), 1)
    x = preprocess_image(image, InputSpec(size=2, layout="NHWC", **RAW))
    assert x[0, 0].tolist() == [255, 255, 255] and x[1, 1].tolist() == [10, 20, 30]


def test_pad_keeps_aspect_ratio_on_white() -> None:
    image = Image.new("RGB", (4, 2), (255, 0, 0))  # wide: padded above and below
    x = preprocess_image(image, InputSpec(size=4, resize="pad", layout="NHWC", **RAW))
    assert x[0].tolist() == [[255, 255, 255]] * 4  # top row: pad
    assert x[3].tolist() == [[255, 255, 255]] * 4  # bottom row: pad
    assert x[1:3].reshape(-1, 3).tolist() == [[255, 0, 0]] * 8


def test_stretch_fills_the_square() -> None:
    image = Image.new("RGB", (8, 2), (0, 255, 0))
    x = preprocess_image(image, InputSpec(size=4, resize="stretch", layout="NHWC", **RAW))
    assert np.allclose(x, [0, 255, 0])


def test_crop_keeps_the_centre() -> None:
    image = Image.new("RGB", (6, 2), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 2, 2))  # left third red
    image.paste((0, 255, 0), (4, 0, 6, 2))  # right third green
    x = preprocess_image(image, InputSpec(size=2, resize="crop", layout="NHWC", **RAW))
    assert x.reshape(-1, 3).tolist() == [[0, 0, 255]] * 4


def test_bgr_nhwc_unscaled_like_wd_taggers() -> None:
    image = Image.new("RGB", (3, 3), (200, 100, 50))
    spec = InputSpec(size=3, resize="pad", channel_order="BGR", layout="NHWC", **RAW)
    x = preprocess_image(image, spec)
    assert x.shape == (3, 3, 3) and x.dtype == np.float32
    assert x[1, 1].tolist() == [50, 100, 200]


def test_rgb_nchw_scaled_and_normalised() -> None:
    image = Image.new("RGB", (2, 2), (255, 0, 51))
    spec = InputSpec(size=2, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), scale=1 / 255)
    x = preprocess_image(image, spec)
    assert x.shape == (3, 2, 2)
    np.testing.assert_allclose(x[:, 0, 0], [1.0, -1.0, -0.6], atol=1e-6)


def test_mean_std_apply_in_model_channel_order() -> None:
    image = Image.new("RGB", (1, 1), (10, 20, 30))
    spec = InputSpec(
        size=1, mean=(1.0, 2.0, 3.0), std=(1.0, 2.0, 3.0), scale=1.0, channel_order="BGR"
    )
    x = preprocess_image(image, spec)
    np.testing.assert_allclose(x[:, 0, 0], [(30 - 1) / 1, (20 - 2) / 2, (10 - 3) / 3])


def test_greyscale_is_expanded_to_three_channels() -> None:
    x = preprocess_image(Image.new("L", (2, 2), 77), InputSpec(size=2, layout="NHWC", **RAW))
    assert x.reshape(-1, 3).tolist() == [[77, 77, 77]] * 4
