"""Decoding (draft, EXIF, alpha, errors) and what the store keeps of a score vector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animesion_desktop.core.tagging.decode import DecodeError, open_first, open_image
from animesion_desktop.core.tagging.store import (
    FLOOR,
    TOP_K,
    HeadVocabulary,
    PackVocabulary,
    select_scores,
)


def test_jpeg_draft_decodes_no_more_pixels_than_needed(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.new("RGB", (2048, 1024), (200, 30, 30)).save(path, quality=90)
    im = open_image(path, min_size=128)
    assert im.mode == "RGB" and im.size == (256, 128)  # scaled by 8 while decoding
    assert open_image(path, min_size=600).size == (2048, 1024)  # 1024 // 600 = 1: no scaling
    # no pack size: the thumbnail's scale (256 px long side), the one the scan decodes at
    assert open_image(path).size == (256, 128)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.new("RGB", (64, 32), (0, 0, 255)).save(path, exif=exif.tobytes())
    assert open_image(path).size == (32, 64)


def test_transparency_is_kept_for_the_pack_to_composite(tmp_path: Path) -> None:
    rgba = tmp_path / "a.png"
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(rgba)
    assert open_image(rgba).mode == "RGBA"
    pal = tmp_path / "p.gif"
    im = Image.new("P", (8, 8), 0)
    im.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    im.save(pal, transparency=0)
    assert open_image(pal).mode == "RGBA"
    grey = tmp_path / "g.png"
    Image.new("L", (8, 8), 128).save(grey)
    assert open_image(grey).mode == "RGB"


def test_errors_are_one_line_decode_errors(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="file not found"):
        open_image(tmp_path / "nope.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(DecodeError, match="not a readable image"):
        open_image(junk)
    cut = tmp_path / "cut.png"
    Image.new("RGB", (300, 300), (1, 2, 3)).save(cut)
    cut.write_bytes(cut.read_bytes()[:120])
    with pytest.raises(DecodeError) as info:
        open_image(cut)
    assert "\n" not in str(info.value)
    # another copy of the same image is tried before giving up
    good = tmp_path / "good.png"
    Image.new("RGB", (8, 8)).save(good)
    assert open_first([str(junk), str(good)])[1] == str(good)
    with pytest.raises(DecodeError, match="not a readable image"):
        open_first([str(cut), str(junk)])
    with pytest.raises(DecodeError, match="no readable file"):
        open_first([])


def vocab(categories: list[str], head: str = "h") -> PackVocabulary:
    ids = list(range(100, 100 + len(categories)))
    return PackVocabulary(1, {head: HeadVocabulary.build(head, ids, categories)})


def test_kept_scores_top_k_characters_all_ratings_floor_for_the_rest() -> None:
    cats = ["character"] * 8 + ["rating"] * 3 + ["general"] * 4
    scores = np.array(
        [0.9, 0.001, 0.002, 0.003, 0.004, 0.0005, 0.0001, 0.02]  # characters
        + [0.0, 0.001, 0.999]  # ratings
        + [0.5, FLOOR * 1.5, FLOOR / 2, float("nan")],  # general
        dtype=np.float32,
    )
    kept = select_scores(vocab(cats), {"h": scores})
    chars = [i for i in kept if i < 108]
    assert len(chars) == TOP_K and set(chars) == {100, 104, 103, 102, 107}
    assert {108, 109, 110} <= set(kept)  # all ratings, even 0
    assert 111 in kept and 112 in kept and 113 not in kept and 114 not in kept  # NaN is 0
    assert all(isinstance(v, float) for v in kept.values())


def test_output_size_must_match_the_vocabulary() -> None:
    with pytest.raises(ValueError, match="gave 3 scores for 4 labels"):
        select_scores(vocab(["general"] * 4), {"h": np.zeros(3)})
    assert select_scores(vocab(["general"]), {"other": np.ones(5)}) == {}


def test_transparent_pixels_are_composited_as_the_pack_asks(tmp_path: Path) -> None:
    from models.preprocess import preprocess_image
    from models.spec import InputSpec

    path = tmp_path / "clear.png"
    Image.new("RGBA", (16, 16), (255, 0, 0, 0)).save(path)  # fully transparent red
    spec = InputSpec(size=8, pad_color=(255, 255, 255), mean=(0, 0, 0), std=(1, 1, 1), scale=1.0)
    sample = preprocess_image(open_image(path, min_size=8), spec)
    assert sample.shape == (3, 8, 8) and np.all(sample == 255.0)  # white, as the pack says
