"""The general-tag review queue: general tags the models claim and nobody decided.

An entry is one (image, tag): an active pack scores the tag at or above its threshold (so the
image shows it as an effective tag) and there is no label on that image and tag, whoever made
it. Least confident first: by how far the best score clears its threshold, ascending, so the
claims nearest the line come first.

A tagger claims a dozen general tags per image, so this queue is read in pages. A page starts
after the sort key of the last entry shown (a keyset, not an offset): entries decided meanwhile
leave the queue without shifting the next page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import text

from animesion_desktop.core.library import Library

PAGE = 400

# Driven from image_tags: an effective general tag with no label at all can only come from an
# active pack's prediction at or above its threshold (effective.py), and image_tags holds about
# a tenth of the prediction rows (a tagger stores many low scores).
_CLAIMS = """
    SELECT it.image_id AS image_id, it.tag_id AS tag_id,
           MAX(p.score) AS score, MAX(p.score - pt.threshold) AS margin
      FROM image_tags it
      JOIN tags t ON t.id = it.tag_id AND t.category = 'general'
      JOIN predictions p ON p.image_id = it.image_id AND p.tag_id = it.tag_id
      JOIN packs k ON k.id = p.pack_id AND k.active = 1
      JOIN pack_tags pt ON pt.pack_id = p.pack_id AND pt.tag_id = p.tag_id
     WHERE p.score >= pt.threshold {only}
       AND NOT EXISTS (SELECT 1 FROM labels l
                        WHERE l.image_id = it.image_id AND l.tag_id = it.tag_id)
     GROUP BY it.tag_id, it.image_id
"""
_ONLY = "AND it.image_id IN (SELECT value FROM json_each(:ids))"

_PAGE = """
    SELECT c.image_id, c.tag_id, t.name, c.score, c.margin, i.hash,
           (SELECT r.path || '/' || f.relpath FROM files f JOIN roots r ON r.id = f.root_id
             WHERE f.image_id = i.id ORDER BY f.status = 'ok' DESC, f.id LIMIT 1)
      FROM ({claims}) c
      JOIN tags t ON t.id = c.tag_id
      JOIN images i ON i.id = c.image_id
     WHERE (c.margin, c.image_id, c.tag_id) > (:m, :i, :t)
     ORDER BY c.margin, c.image_id, c.tag_id
     LIMIT :n
"""


@dataclass(frozen=True)
class TagEntry:
    image_id: int
    tag_id: int
    name: str  # the general tag's name ("blue_hair")
    score: float  # the best score among active packs
    margin: float  # how far that clears the pack's threshold (the sort key)
    hash: str
    path: str  # first readable location, empty if none

    @property
    def key(self) -> tuple[int, int]:
        return (self.image_id, self.tag_id)

    @property
    def tag(self) -> str:
        return f"general:{self.name}"


class TagQueue:
    """The queue for one search query (``""``: the whole library), read page by page.

    Resolving the query runs a search, so make it on a worker, like every page read.
    """

    def __init__(self, lib: Library, query: str = "") -> None:
        self.lib = lib
        self.query = query
        self._params: dict[str, object] = {}
        only = ""
        if query.strip():
            from animesion_desktop.core.search import search

            ids = search(lib, query, limit=None).ids
            only = _ONLY
            self._params["ids"] = json.dumps([int(i) for i in ids])
        self._claims = _CLAIMS.format(only=only)

    def count(self) -> int:
        with self.lib.read() as s:
            return int(s.execute(text(f"SELECT count(*) FROM ({self._claims})"),
                                 self._params).scalar_one())

    def page(self, after: TagEntry | None = None, limit: int = PAGE) -> list[TagEntry]:
        """The next ``limit`` entries after ``after`` (from the start when None)."""
        start = (float("-inf"), 0, 0) if after is None else (after.margin, after.image_id,
                                                              after.tag_id)
        params = {**self._params, "m": start[0], "i": start[1], "t": start[2], "n": limit}
        with self.lib.read() as s:
            rows = s.execute(text(_PAGE.format(claims=self._claims)), params).all()
        return [TagEntry(int(i), int(t), str(name), float(score), float(margin), str(h),
                         str(path or "")) for i, t, name, score, margin, h, path in rows]
