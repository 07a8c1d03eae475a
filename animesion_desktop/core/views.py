"""Read-side shapes the app shows: grid rows, fetched in one query per batch of ids.

The inspector's view of one image is :mod:`animesion_desktop.core.image_view` (shared with
``animesion show`` and ``search --json``); ``image_detail`` and ``ImageDetail`` are its names
here for the UI's existing imports."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from animesion_desktop.core.image_view import ImageView, TagLine, image_view
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.tags import tag_text  # noqa: F401 - re-exported
from animesion_desktop.core.scan.thumbnails import thumbnail_path


@dataclass(frozen=True)
class GridRow:
    image_id: int
    hash: str
    path: str  # first known location, for display
    width: int | None
    height: int | None
    tags: tuple[str, ...]  # effective tags, "category:name" for non-general


# The grid asks for a screenful of rows at a time while the user scrolls; each batch is read
# through the driver's own cursor (rows come back as tuples built in C), because SQLAlchemy's
# per-row Python (about 1,000 tag rows a batch) held the interpreter lock the GUI thread needs.
_ROWS = """
    SELECT i.id, i.hash, i.width, i.height,
           (SELECT r.path || '/' || f.relpath FROM files f JOIN roots r ON r.id = f.root_id
             WHERE f.image_id = i.id ORDER BY f.status = 'ok' DESC, f.id LIMIT 1)
      FROM images i WHERE i.id IN ({marks})
"""

# tag_text() in SQL: general tags bare, others category:name.
_TAGS = """
    SELECT it.image_id,
           CASE t.category WHEN 'general' THEN t.name ELSE t.category || ':' || t.name END
      FROM image_tags it JOIN tags t ON t.id = it.tag_id
     WHERE it.image_id IN ({marks}) ORDER BY t.category != 'character', t.category, t.name
"""


def grid_rows(lib: Library, image_ids: Sequence[int]) -> list[GridRow]:
    ids = [int(i) for i in image_ids]
    rows: list[GridRow] = []
    with lib.read() as s:
        con: sqlite3.Connection = s.connection().connection.driver_connection  # type: ignore[assignment]
        for lo in range(0, len(ids), _CHUNK):
            rows += _rows(con, ids[lo : lo + _CHUNK])
    return rows


_CHUNK = 500  # bound parameters a statement (SQLite allows 32,766)


def _rows(con: sqlite3.Connection, ids: list[int]) -> list[GridRow]:
    marks = ",".join("?" * len(ids))
    tags: dict[int, list[str]] = {}
    for image_id, tag in con.execute(_TAGS.format(marks=marks), ids).fetchall():
        tags.setdefault(image_id, []).append(tag)
    return [GridRow(image_id, hash_, path or "", w, h, tuple(tags.get(image_id, ())))
            for image_id, hash_, w, h, path in con.execute(_ROWS.format(marks=marks), ids)]


def thumbnail_file(lib: Library, image_hash: str) -> str:
    """Where the scanner keeps an image's thumbnail (it may not exist yet)."""
    return os.fspath(thumbnail_path(lib.location.thumbs_dir, image_hash))


ImageDetail = ImageView
image_detail = image_view
__all__ = ["GridRow", "ImageDetail", "TagLine", "grid_rows", "image_detail", "tag_text",
           "thumbnail_file"]
