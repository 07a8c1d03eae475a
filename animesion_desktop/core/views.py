"""Read-side shapes the app shows: grid rows, fetched in one query per batch of ids."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text

from animesion_desktop.core.library import Library
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


def tag_text(category: str, name: str) -> str:
    return name if category == "general" else f"{category}:{name}"


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


@dataclass(frozen=True)
class TagLine:
    category: str
    name: str
    effective: bool
    label: str | None  # "accepted" / "rejected" / None
    label_source: str | None
    score: float | None  # best score among active packs
    threshold: float | None

    @property
    def text(self) -> str:
        return tag_text(self.category, self.name)


@dataclass(frozen=True)
class ImageDetail:
    image_id: int
    hash: str
    width: int | None
    height: int | None
    format: str | None
    paths: tuple[tuple[str, str, str | None], ...]  # (path, status, error)
    tags: tuple[TagLine, ...]  # every tag with a label, a prediction or effective


_DETAIL_TAGS = text(
    """
    WITH cand AS (
        SELECT tag_id FROM labels WHERE image_id = :i
        UNION SELECT tag_id FROM image_tags WHERE image_id = :i
        UNION SELECT p.tag_id FROM predictions p JOIN packs k ON k.id = p.pack_id AND k.active
               WHERE p.image_id = :i)
    SELECT t.category, t.name,
           EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = :i AND it.tag_id = t.id),
           l.state, l.source,
           (SELECT MAX(p.score) FROM predictions p JOIN packs k ON k.id = p.pack_id AND k.active
             WHERE p.image_id = :i AND p.tag_id = t.id),
           (SELECT MIN(pt.threshold) FROM pack_tags pt JOIN packs k ON k.id = pt.pack_id
                    AND k.active WHERE pt.tag_id = t.id)
      FROM cand JOIN tags t ON t.id = cand.tag_id
      LEFT JOIN labels l ON l.image_id = :i AND l.tag_id = t.id
    """
)


def image_detail(lib: Library, image_id: int) -> ImageDetail | None:
    with lib.read() as s:
        row = s.execute(
            text("SELECT hash, width, height, format FROM images WHERE id = :i"), {"i": image_id}
        ).first()
        if row is None:
            return None
        paths = tuple(
            (p, st, err)
            for p, st, err in s.execute(
                text(
                    "SELECT r.path || '/' || f.relpath, f.status, f.error FROM files f "
                    "JOIN roots r ON r.id = f.root_id WHERE f.image_id = :i ORDER BY f.id"
                ),
                {"i": image_id},
            )
        )
        lines = [
            TagLine(c, n, bool(e), st, src, sc, th)
            for c, n, e, st, src, sc, th in s.execute(_DETAIL_TAGS, {"i": image_id})
        ]
    order = {"character": 0, "copyright": 1, "artist": 2, "general": 3, "meta": 4, "rating": 5}
    lines.sort(key=lambda t: (order.get(t.category, 9), not t.effective, -(t.score or 0), t.name))
    return ImageDetail(image_id, row[0], row[1], row[2], row[3], paths, tuple(lines))
