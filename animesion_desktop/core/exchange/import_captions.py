"""``captions``: a ``.txt`` beside each image (kohya / diffusion data sets): tags separated by
commas (or, without commas, by spaces); ``blue hair`` and ``blue_hair`` are one tag; a tag the
library knows as a character or copyright is imported as one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from animesion_desktop.core.exchange.entries import (
    Entry,
    Item,
    Known,
    read_sidecars,
    tag_token,
)
from animesion_desktop.core.exchange.options import ImportOptions


def caption_tags(text: str, known: Known) -> list[tuple[str, str]]:
    text = " , ".join(line for line in text.splitlines() if line.strip())
    tokens = text.split(",") if "," in text else text.split()
    tags = [tag_token(t, known) for t in tokens]
    return list(dict.fromkeys(t for t in tags if t is not None))


def read_captions(src: Path, opts: ImportOptions, known: Known) -> Iterator[Item]:
    def entries(path: Path, image: Path, text: str) -> Iterator[Item]:
        tags = caption_tags(text, known)
        if tags:
            yield Entry(str(path), file=image, decisions=[(c, n, "accepted") for c, n in tags])

    yield from read_sidecars(src, ".txt", "caption for a missing image", entries)
