"""Read-side shapes the app shows: grid rows, fetched in one query per batch of ids.

The inspector's view of one image is :mod:`animesion_desktop.core.image_view` (shared with
``animesion show`` and ``search --json``); ``image_detail`` and ``ImageDetail`` are its names
here for the UI's existing imports."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text

from animesion_desktop.core.image_view import ImageView, TagLine, image_view
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.tags import tag_text
from animesion_desktop.core.scan.thumbnails import thumbnail_path


@dataclass(frozen=True)
class GridRow:
    image_id: int
    hash: str
    path: str  # first known location, for display
    width: int | None
    height: int | None
    tags: tuple[str, ...]  # effective tags, "category:name" for non-general


_ROWS = text(
    """
    SELECT i.id, i.hash, i.width, i.height,
           (SELECT r.path || '/' || f.relpath FROM files f JOIN roots r ON r.id = f.root_id
             WHERE f.image_id = i.id ORDER BY f.status = 'ok' DESC, f.id LIMIT 1)
      FROM images i WHERE i.id IN :ids
    """
).bindparams(bindparam("ids", expanding=True))

_TAGS = text(
    """
    SELECT it.image_id, t.category, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id
     WHERE it.image_id IN :ids ORDER BY t.category != 'character', t.category, t.name
    """
).bindparams(bindparam("ids", expanding=True))


def grid_rows(lib: Library, image_ids: Sequence[int]) -> list[GridRow]:
    if not image_ids:
        return []
    ids = list(image_ids)
    with lib.read() as s:
        tags: dict[int, list[str]] = {}
        for image_id, category, name in s.execute(_TAGS, {"ids": ids}):
            tags.setdefault(image_id, []).append(tag_text(category, name))
        return [
            GridRow(image_id, hash_, path or "", w, h, tuple(tags.get(image_id, ())))
            for image_id, hash_, w, h, path in s.execute(_ROWS, {"ids": ids})
        ]


def thumbnail_file(lib: Library, image_hash: str) -> str:
    """Where the scanner keeps an image's thumbnail (it may not exist yet)."""
    return os.fspath(thumbnail_path(lib.location.thumbs_dir, image_hash))


ImageDetail = ImageView
image_detail = image_view
__all__ = ["GridRow", "ImageDetail", "TagLine", "grid_rows", "image_detail", "tag_text",
           "thumbnail_file"]
