"""``folders``: one folder per character (``SRC/<character>/.../<image>``); the folder name is
the character tag (moeImouto's ``000_`` number prefix dropped). Folders starting with ``_`` or
``.`` are metadata; images directly in SRC are reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from animesion_desktop.core.exchange.entries import (
    Entry,
    Item,
    Known,
    Problem,
    character_name,
    is_image,
    walk_files,
)
from animesion_desktop.core.exchange.options import ImportOptions


def read_folders(src: Path, opts: ImportOptions, known: Known) -> Iterator[Item]:
    loose = 0
    for folder in sorted(p for p in src.iterdir()):
        if not folder.is_dir():
            loose += is_image(folder)
            continue
        if folder.name.startswith(("_", ".")):
            continue
        name = character_name(folder.name, opts.strip_number)
        if not name:
            yield Problem(str(folder), "folder name is not a usable tag; skipped")
            continue
        for path in walk_files(folder):
            if is_image(path):
                yield Entry(str(path), file=path, decisions=[("character", name, "accepted")])
    if loose:
        yield Problem(str(src), f"{loose} images are not in a character folder; skipped")
