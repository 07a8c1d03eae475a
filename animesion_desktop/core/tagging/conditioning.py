"""Multimodal packs in the tagging job: which tags each image's guess is conditioned on.

A multimodal (ViLT) pack whose modes include ``conditioned`` is given, per image, the tags the
user accepted on it (labels with source ``user``, state ``accepted``) that are in the pack's
vocabulary, in vocabulary order, as many as the model has slots for; other tags are ignored.
An image without such tags is answered from the image alone (recognition + tag generation).

The run record keeps the tags given (``inference_runs.conditioned_on``), so the job can tell
which stored guesses no longer match the user's tags: an image whose accepted vocabulary tags
changed since the pack last ran on it (tags accepted, cleared or rejected) is run again by the
next ``animesion tag``, like an image the pack has never seen. Labels are only read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from animesion_desktop.core.library import Library
from animesion_desktop.core.library.tags import normalize_name
from animesion_desktop.core.tagging.store import decode_tags

_USER_TAGS = text(
    "SELECT l.image_id, t.name FROM labels l JOIN tags t ON t.id = l.tag_id "
    "WHERE l.source = 'user' AND l.state = 'accepted' AND t.category = :c"
)
_RECORDED = text(
    "SELECT image_id, conditioned_on FROM inference_runs WHERE pack_id = :p AND error IS NULL"
)


def takes_known_tags(predictor: Any) -> bool:
    """Whether the predictor is a multimodal pack that supports the conditioned mode."""
    return bool(getattr(predictor, "takes_known_tags", False)) and "conditioned" in tuple(
        getattr(predictor, "modes", ())
    )


def known_tags(lib: Library, vocabulary: Sequence[str], max_tags: int,
               category: str = "general") -> dict[int, tuple[str, ...]]:
    """Image id -> the vocabulary tags (as the vocabulary spells them) to condition on."""
    order: dict[str, tuple[int, str]] = {}  # library name -> (vocabulary position, token)
    for position, token in enumerate(vocabulary):
        order.setdefault(normalize_name(token), (position, token))
    found: dict[int, list[tuple[int, str]]] = {}
    with lib.read() as s:
        for image_id, name in s.execute(_USER_TAGS, {"c": category}):
            hit = order.get(name)
            if hit is not None:
                found.setdefault(int(image_id), []).append(hit)
    return {i: tuple(t for _, t in sorted(hits)[:max_tags]) for i, hits in found.items()}


def stale_images(lib: Library, pack_id: int, given: dict[int, tuple[str, ...]],
                 restrict: Iterable[int] | None = None) -> list[int]:
    """Images the pack has answered (without an error) on other tags than ``given`` now."""
    only = None if restrict is None else set(restrict)
    with lib.read() as s:
        recorded = {int(i): decode_tags(c) for i, c in s.execute(_RECORDED, {"p": pack_id})}
    return sorted(
        i for i, tags in recorded.items()
        if tags != given.get(i, ()) and (only is None or i in only)
    )


def record_missing_tags(session: Session, pack_id: int, head: Any) -> int:
    """Record a head's labels as the pack's vocabulary where they are not yet (a multimodal
    pack installed before its generated tags were stored); returns how many were added."""
    from animesion_desktop.core.tagging.packs_registry import _tag_ids

    thresholds: dict[tuple[str, str], float] = {}
    for label in head.labels:
        thresholds.setdefault((label.category, normalize_name(label.name)), float(label.threshold))
    ids = _tag_ids(session, list(thresholds))
    rows = [{"p": pack_id, "t": ids[k], "th": th} for k, th in thresholds.items()]
    result = session.connection().execute(
        text("INSERT OR IGNORE INTO pack_tags (pack_id, tag_id, threshold) VALUES (:p, :t, :th)"),
        rows,
    )
    return int(result.rowcount or 0)
