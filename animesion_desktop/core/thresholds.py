"""Thresholds of a pack, per tag or per category, applied at read time (no model rerun).

A change rewrites ``pack_tags`` and refreshes the effective rows of exactly the tags it moved
(``effective.refresh_tags``); it returns the previous values so the app can undo it. What a
setting would yield is counted straight from the stored predictions, and the user's own
decisions on a tag give a precision/recall curve for it (they are the ground truth the library
has; packs carry no validation scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from animesion_desktop.core.library import Library, LibraryError, effective
from animesion_desktop.core.library.schema import CATEGORIES
from animesion_desktop.core.library.tags import parse_tag

CATEGORY_PREFIX = "category:"


@dataclass(frozen=True)
class ThresholdRow:
    tag_id: int
    category: str
    name: str
    threshold: float
    images: int  # images at or above the threshold (before labels)

    @property
    def text(self) -> str:
        return self.name if self.category == "general" else f"{self.category}:{self.name}"


@dataclass(frozen=True)
class ThresholdChange:
    pack: str
    previous: dict[int, float]  # tag id -> threshold before the change
    value: float

    @property
    def tags(self) -> int:
        return len(self.previous)


def _pack_id(session: Session, pack: str) -> int:
    row = session.execute(text("SELECT id FROM packs WHERE name = :n"), {"n": pack}).first()
    if row is None:
        names = [r[0] for r in session.execute(text("SELECT name FROM packs ORDER BY name"))]
        known = f"; installed: {', '.join(names)}" if names else "; none are installed"
        raise LibraryError(f"no pack named {pack!r}{known}")
    return int(row[0])


def _target_tag_ids(session: Session, pack_id: int, pack: str, target: str | None) -> list[int]:
    """The pack's tags a target names: None = all, ``category:C`` = a category, else a tag."""
    params: dict[str, object]
    if target is None or not target.strip():
        sql, params = "SELECT tag_id FROM pack_tags WHERE pack_id = :p", {"p": pack_id}
    elif target.strip().lower().startswith(CATEGORY_PREFIX):
        category = target.strip()[len(CATEGORY_PREFIX):].strip().lower()
        if category not in CATEGORIES:
            raise LibraryError(f"{target!r}: unknown category {category!r}; expected one of "
                               f"{', '.join(CATEGORIES)}")
        sql = ("SELECT pt.tag_id FROM pack_tags pt JOIN tags t ON t.id = pt.tag_id "
               "WHERE pt.pack_id = :p AND t.category = :c")
        params = {"p": pack_id, "c": category}
    else:
        category, name = parse_tag(target)
        sql = ("SELECT pt.tag_id FROM pack_tags pt JOIN tags t ON t.id = pt.tag_id "
               "WHERE pt.pack_id = :p AND t.category = :c AND t.name = :n")
        params = {"p": pack_id, "c": category, "n": name}
    ids = [int(r[0]) for r in session.execute(text(sql), params)]
    if not ids:
        raise LibraryError(f"pack {pack!r} has no tag matching {target!r}")
    return ids


def _write(session: Session, pack_id: int, values: dict[int, float]) -> None:
    session.connection().execute(
        text("UPDATE pack_tags SET threshold = :th WHERE pack_id = :p AND tag_id = :t"),
        [{"th": th, "p": pack_id, "t": t} for t, th in values.items()],
    )
    effective.refresh_tags(session.connection(), list(values))


def set_thresholds(lib: Library, pack: str, target: str | None, value: float) -> ThresholdChange:
    """Set the threshold of one tag, a category or every tag of ``pack`` to ``value``."""
    if not 0.0 <= value <= 1.0:
        raise LibraryError(f"threshold must be between 0 and 1, got {value}")

    def apply(session: Session) -> ThresholdChange:
        pack_id = _pack_id(session, pack)
        ids = _target_tag_ids(session, pack_id, pack, target)
        previous = {
            int(t): float(th) for t, th in session.execute(
                text("SELECT tag_id, threshold FROM pack_tags WHERE pack_id = :p AND tag_id IN "
                     ":ids").bindparams(bindparam("ids", expanding=True)),
                {"p": pack_id, "ids": ids})
        }
        _write(session, pack_id, {t: value for t in ids})
        return ThresholdChange(pack, previous, value)

    return lib.write(apply)


def restore_thresholds(lib: Library, change: ThresholdChange) -> None:
    """Undo a change: every tag it moved gets its previous threshold back."""
    lib.write(lambda s: _write(s, _pack_id(s, change.pack), change.previous))


def threshold_rows(lib: Library, pack: str, category: str | None = None) -> list[ThresholdRow]:
    """The pack's tags with their thresholds and how many images reach them."""
    with lib.read() as s:
        pack_id = _pack_id(s, pack)
        where = "" if category is None else "AND t.category = :c"
        rows = s.execute(text(f"""
            SELECT t.id, t.category, t.name, pt.threshold,
                   (SELECT count(*) FROM predictions p WHERE p.pack_id = pt.pack_id
                       AND p.tag_id = pt.tag_id AND p.score >= pt.threshold)
              FROM pack_tags pt JOIN tags t ON t.id = pt.tag_id
             WHERE pt.pack_id = :p {where}
             ORDER BY t.category, t.name"""), {"p": pack_id, "c": category})
        return [ThresholdRow(int(i), c, n, float(th), int(k)) for i, c, n, th, k in rows]


def category_counts(lib: Library, pack: str) -> dict[str, tuple[int, float, float]]:
    """category -> (tags, lowest threshold, highest threshold) of the pack."""
    with lib.read() as s:
        pack_id = _pack_id(s, pack)
        return {
            c: (int(n), float(lo), float(hi)) for c, n, lo, hi in s.execute(text(
                "SELECT t.category, count(*), min(pt.threshold), max(pt.threshold) "
                "FROM pack_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.pack_id = :p "
                "GROUP BY t.category ORDER BY t.category"), {"p": pack_id})
        }


def yields(lib: Library, pack: str, target: str | None, values: Sequence[float]) -> list[int]:
    """For each candidate threshold: how many (image, tag) predictions of the target reach it."""
    with lib.read() as s:
        pack_id = _pack_id(s, pack)
        ids = _target_tag_ids(s, pack_id, pack, target)
        scores = sorted(
            float(r[0]) for r in s.execute(
                text("SELECT score FROM predictions WHERE pack_id = :p AND tag_id IN :ids")
                .bindparams(bindparam("ids", expanding=True)), {"p": pack_id, "ids": ids})
        )
    import bisect

    return [len(scores) - bisect.bisect_left(scores, v) for v in values]


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    precision: float
    recall: float


def pr_curve(lib: Library, pack: str, tag: str, steps: int = 20) -> tuple[int, list[CurvePoint]]:
    """Precision and recall of ``tag`` at thresholds 0..1, measured against the decisions
    (labels) on it; returns (number of decisions, points). No decisions, no curve."""
    category, name = parse_tag(tag)
    with lib.read() as s:
        pack_id = _pack_id(s, pack)
        rows = [(float(sc), st == "accepted") for sc, st in s.execute(text("""
            SELECT coalesce(p.score, 0.0), l.state FROM labels l
              JOIN tags t ON t.id = l.tag_id AND t.category = :c AND t.name = :n
              LEFT JOIN predictions p ON p.image_id = l.image_id AND p.tag_id = l.tag_id
                                      AND p.pack_id = :p"""), {"c": category, "n": name,
                                                               "p": pack_id})]
    positives = sum(1 for _, yes in rows if yes)
    if not rows or positives == 0:
        return len(rows), []
    points = []
    for k in range(steps + 1):
        t = k / steps
        kept = [yes for sc, yes in rows if sc >= t]
        tp = sum(kept)
        points.append(CurvePoint(t, tp / len(kept) if kept else 1.0, tp / positives))
    return len(rows), points
