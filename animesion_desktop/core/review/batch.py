"""Batch review: accept character X on every undecided image whose score for X is >= S.

The preview counts what a batch would accept and lists its lowest-scoring images (the ones most
worth a look before confirming); the batch itself is one transaction, undone as one step.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from animesion_desktop.core.library import Library, LibraryError
from animesion_desktop.core.library.library import LabelChange
from animesion_desktop.core.library.tags import parse_tag
from animesion_desktop.core.review.decisions import write_labels

# Best score of the tag per image among active packs, for images with no label on that tag.
_MATCHES = """
    SELECT p.image_id, MAX(p.score) AS score
      FROM predictions p
      JOIN packs k ON k.id = p.pack_id AND k.active = 1
     WHERE p.tag_id = :t
       AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.image_id = p.image_id AND l.tag_id = :t)
     GROUP BY p.image_id HAVING MAX(p.score) >= :s
"""


@dataclass(frozen=True)
class BatchPreview:
    tag: str
    threshold: float
    count: int
    lowest: tuple[tuple[int, float], ...]  # (image id, score), lowest score first


def _tag_id(lib: Library, tag: str) -> int | None:
    category, name = parse_tag(tag, default_category="character")
    with lib.read() as s:
        row = s.execute(text("SELECT id FROM tags WHERE category = :c AND name = :n"),
                        {"c": category, "n": name}).first()
    return None if row is None else int(row[0])


def preview_accept_above(lib: Library, tag: str, threshold: float, strip: int = 8) -> BatchPreview:
    """How many images the batch would accept, and the ``strip`` lowest-scoring of them."""
    tag_id = _tag_id(lib, tag)
    if tag_id is None:
        return BatchPreview(tag, threshold, 0, ())
    with lib.read() as s:
        params = {"t": tag_id, "s": threshold}
        n = int(s.execute(text(f"SELECT count(*) FROM ({_MATCHES})"), params).scalar_one())
        lowest = tuple(
            (int(i), float(sc)) for i, sc in s.execute(
                text(f"{_MATCHES} ORDER BY score, p.image_id LIMIT :k"), {**params, "k": strip})
        )
    return BatchPreview(tag, threshold, n, lowest)


def accept_above(lib: Library, tag: str, threshold: float) -> list[LabelChange]:
    """Accept ``tag`` on every undecided image scoring >= ``threshold``: one transaction."""
    category, name = parse_tag(tag, default_category="character")
    full = f"{category}:{name}"
    tag_id = _tag_id(lib, full)
    if tag_id is None:
        raise LibraryError(f"no predictions of {full}")

    def apply(session: Session) -> list[LabelChange]:
        ids = [int(r[0]) for r in session.execute(text(_MATCHES), {"t": tag_id, "s": threshold})]
        return write_labels(session, ids, [full], []) if ids else []

    return lib.write(apply)
