"""The character review queue: images whose character the models guessed and nobody decided.

An image is *undecided* while it has no label on any character tag and no "unknown character"
marker (see decisions.py), whoever made the label (the user or an import). The queue is a list
of image ids, computed once when it is opened, so it stays stable while the reviewer works
through it; each item's candidates are read when the item is shown.

Orders: ``confidence`` (least confident first: the best character score, ascending, so the
doubtful guesses come first) and ``character`` (grouped by the top guess, each group least
confident first).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from animesion_desktop.core.library import Library
from animesion_desktop.core.review.decisions import UNKNOWN_CHARACTER

ORDERS = ("confidence", "character")
TOP_K = 5

# images.char_score is the best character score among active packs (materialised with the
# effective tags), so "has a character guess" and "least confident first" need no join.
_UNDECIDED = f"""
    i.char_score IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM labels l JOIN tags t ON t.id = l.tag_id
         WHERE l.image_id = i.id
           AND (t.category = 'character'
                OR (t.category = 'meta' AND t.name = '{UNKNOWN_CHARACTER.split(":", 1)[1]}')))
"""

_BY_CONFIDENCE = f"SELECT i.id FROM images i WHERE {_UNDECIDED} ORDER BY i.char_score, i.id"

# SQLite returns the other columns of the row that holds MAX(): the top character per image.
_BY_CHARACTER = f"""
    SELECT top.image_id FROM (
        SELECT p.image_id, p.tag_id, MAX(p.score) AS score
          FROM predictions p
          JOIN packs k ON k.id = p.pack_id AND k.active = 1
          JOIN tags t ON t.id = p.tag_id AND t.category = 'character'
         GROUP BY p.image_id) AS top
      JOIN images i ON i.id = top.image_id
      JOIN tags t ON t.id = top.tag_id
     WHERE {_UNDECIDED}
     ORDER BY t.name, top.score, i.id
"""


@dataclass(frozen=True)
class Candidate:
    tag: str  # "character:name"
    name: str
    score: float


@dataclass(frozen=True)
class ReviewItem:
    image_id: int
    hash: str
    path: str  # first readable location, empty if none
    width: int | None
    height: int | None
    candidates: tuple[Candidate, ...]  # best first, at most TOP_K

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def build_queue(lib: Library, query: str = "", order: str = "confidence") -> list[int]:
    """Ids of the undecided images matching ``query`` (the search language), in ``order``."""
    if order not in ORDERS:
        raise ValueError(f"unknown review order {order!r}; expected one of {', '.join(ORDERS)}")
    with lib.read() as s:
        ids = [int(r[0]) for r in s.execute(text(_BY_CONFIDENCE if order == "confidence"
                                                 else _BY_CHARACTER))]
    if query.strip():
        from animesion_desktop.core.search import search

        wanted = set(search(lib, query, limit=None).ids)
        ids = [i for i in ids if i in wanted]
    return ids


_CANDIDATES = text(
    """
    SELECT t.name, MAX(p.score) AS score
      FROM predictions p
      JOIN packs k ON k.id = p.pack_id AND k.active = 1
      JOIN tags t ON t.id = p.tag_id AND t.category = 'character'
     WHERE p.image_id = :i
     GROUP BY t.id ORDER BY score DESC, t.name LIMIT :k
    """
)

_IMAGE = text(
    """
    SELECT i.hash, i.width, i.height,
           (SELECT r.path || '/' || f.relpath FROM files f JOIN roots r ON r.id = f.root_id
             WHERE f.image_id = i.id ORDER BY f.status = 'ok' DESC, f.id LIMIT 1)
      FROM images i WHERE i.id = :i
    """
)


def review_item(lib: Library, image_id: int) -> ReviewItem | None:
    """What the reviewer sees for one image: where it is and its top character guesses."""
    with lib.read() as s:
        row = s.execute(_IMAGE, {"i": image_id}).first()
        if row is None:
            return None
        cands = tuple(
            Candidate(f"character:{name}", str(name), float(score))
            for name, score in s.execute(_CANDIDATES, {"i": image_id, "k": TOP_K})
        )
    return ReviewItem(image_id, str(row[0]), str(row[3] or ""), row[1], row[2], cands)
