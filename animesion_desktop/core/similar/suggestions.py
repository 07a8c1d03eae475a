"""Suggestions: names proposed for images that are not decisions (``propagation`` from a named
cluster, ``fewshot`` from the prototype head). A suggestion never changes effective tags; the
user turns one into a label by accepting it."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from animesion_desktop.core.library import Library
from animesion_desktop.core.library.tags import get_or_create_tag, parse_tag

PROPAGATION = "propagation"
FEWSHOT = "fewshot"


@dataclass(frozen=True)
class Suggested:
    image_id: int
    tag: str  # category:name
    source: str
    score: float


def replace(session: Session, source: str, rows: Iterable[tuple[int, str, float]],
            *, tags: Iterable[str] | None = None) -> int:
    """Write (image, tag, score) suggestions of ``source``; first drops that source's old ones
    for ``tags`` (every tag when None). Runs on the writer. Returns the rows written."""
    conn = session.connection()
    if tags is None:
        conn.execute(text("DELETE FROM suggestions WHERE source = :s"), {"s": source})
    else:
        for tag in tags:
            tag_id = get_or_create_tag(session, *parse_tag(tag))
            conn.execute(text("DELETE FROM suggestions WHERE source = :s AND tag_id = :t"),
                         {"s": source, "t": tag_id})
    now = time.time()
    ids: dict[str, int] = {}
    params = []
    for image_id, tag, score in rows:
        if tag not in ids:
            ids[tag] = get_or_create_tag(session, *parse_tag(tag))
        params.append({"i": image_id, "t": ids[tag], "s": source, "c": float(score), "a": now})
    if params:
        conn.execute(text(
            "INSERT OR REPLACE INTO suggestions (image_id, tag_id, source, score, at) "
            "SELECT :i, :t, :s, :c, :a WHERE EXISTS (SELECT 1 FROM images WHERE id = :i)"), params)
    return len(params)


def list_suggestions(lib: Library, source: str | None = None, image_id: int | None = None
                     ) -> list[Suggested]:
    """Best first. Suggestions the user has since decided (any label on that tag) are left out."""
    where: list[str] = []
    params: dict[str, object] = {}
    if source is not None:
        where.append("s.source = :src")
        params["src"] = source
    if image_id is not None:
        where.append("s.image_id = :img")
        params["img"] = image_id
    clause = (" AND " + " AND ".join(where)) if where else ""
    with lib.read() as s:
        rows = s.execute(text(
            "SELECT s.image_id, t.category, t.name, s.source, s.score FROM suggestions s "
            "JOIN tags t ON t.id = s.tag_id WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE "
            f"l.image_id = s.image_id AND l.tag_id = s.tag_id){clause} "
            "ORDER BY s.score DESC, s.image_id"), params).all()
    return [Suggested(int(i), f"{c}:{n}", str(src), float(sc)) for i, c, n, src, sc in rows]
