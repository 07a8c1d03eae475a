"""``xmp``: sidecars (``a.jpg.xmp`` or ``a.xmp``) with ``dc:subject`` keywords and digiKam /
Lightroom hierarchies (``Characters/NAME`` is a character). A sidecar whose image is not beside
it is matched by the ``animesion:hash`` our own XMP export writes; else it is reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from animesion_desktop.core.exchange.entries import (
    Entry,
    Item,
    Known,
    Problem,
    image_beside,
    tag_token,
    walk_files,
)
from animesion_desktop.core.exchange.options import ImportOptions
from animesion_desktop.core.exchange.xmp import XmpError, read_xmp


def read_xmp_sidecars(src: Path, opts: ImportOptions, known: Known) -> Iterator[Item]:
    for path in walk_files(src):
        if path.suffix.lower() != ".xmp":
            continue
        try:
            found = read_xmp(path.read_bytes())
        except (OSError, XmpError) as exc:
            yield Problem(str(path), f"{exc}; skipped")
            continue
        image = image_beside(path, ".xmp")
        if image is None and found.image_hash is None:
            yield Problem(str(path), "sidecar for a missing file (no image of that name beside it)")
            continue
        decisions = []
        for category, raw in found.tags:
            tag = tag_token(raw, known, category) if category == "general" else tag_token(
                f"{category}:{raw}", known)
            if tag is not None:
                decisions.append((tag[0], tag[1], "accepted"))
        if decisions:
            yield Entry(str(path), file=image, hash=None if image else found.image_hash,
                        decisions=list(dict.fromkeys(decisions)))
