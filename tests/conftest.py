"""Fixtures shared by every test folder. Keep it small; folder-specific ones live beside their tests."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from animesion_desktop.core.library import Library

MakeImage = Callable[..., Path]


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    """A fresh library in the test's tmp dir (thumbnails and packs beside it)."""
    library = Library.open(tmp_path / "lib.sqlite")
    try:
        yield library
    finally:
        library.close()


def write_image(
    path: Path,
    *,
    size: tuple[int, int] = (64, 48),
    seed: int = 0,
    mode: str = "RGB",
    format: str | None = None,
    **save: object,
) -> Path:
    """A small image whose content (and so its hash) differs for every ``seed``."""
    rng = random.Random(seed)
    channels = len(Image.new(mode, (1, 1)).getbands())

    def value() -> int | tuple[int, ...]:
        if channels == 1:
            return rng.randrange(256)
        return tuple(rng.randrange(256) for _ in range(channels))

    im = Image.new(mode, size, value())
    for _ in range(8):  # a few distinct pixels, so two seeds never give the same bytes
        im.putpixel((rng.randrange(size[0]), rng.randrange(size[1])), value())
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format=format, **save)
    return path


@pytest.fixture
def make_image() -> MakeImage:
    """``make_image(path, size=(64, 48), seed=0, mode="RGB", format=None, **save_kwargs)``."""
    return write_image
