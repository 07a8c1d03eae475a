"""Small pieces several commands use: whole-number options, an image named by its path, and
long lists printed a screenful at a time."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TextIO, TypeVar

from animesion_desktop.core.errors import UserError
from animesion_desktop.core.library import Library, files

T = TypeVar("T")


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
    return value


def non_negative(text: str) -> int:
    """An argparse ``type``: 0, 1, 2, ..."""
    return _whole_number(text, 0)


def positive(text: str) -> int:
    """An argparse ``type``: 1, 2, 3, ..."""
    return _whole_number(text, 1)


def indexed_image(lib: Library, path: str) -> int:
    """The image a file path shows; a UserError when the path is not an indexed file."""
    image_id = lib.image_for_path(path)
    if image_id is None:
        raise UserError(f"{path}: not in the library (is its folder scanned?)")
    return image_id


def present_paths(lib: Library, image_id: int) -> list[str]:
    """The paths of an image's present files (none for an unknown image)."""
    found = files.image_locations(lib, image_id)
    return [str(p) for p in found[1]] if found else []


def print_first(items: Sequence[T], line: Callable[[T], str], shown: int = 20,
                more: str = "  ... and {} more", file: TextIO | None = None) -> None:
    """A line for each of the first ``shown`` items, then ``more`` with how many were not."""
    for item in items[:shown]:
        print(line(item), file=file)
    if len(items) > shown:
        print(more.format(len(items) - shown), file=file)
