"""Review decisions, each one transaction of user labels that can be undone exactly.

A decision never touches predictions: it writes labels (source ``user``), which no model run
changes. "None of these" rejects every candidate shown and accepts the meta tag
:data:`UNKNOWN_CHARACTER`, so the image leaves the queue and stays findable
(``meta:unknown_character``).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence

from sqlalchemy.orm import Session

from animesion_desktop.core.library import Library, effective
from animesion_desktop.core.library.library import LabelChange, put_labels
from animesion_desktop.core.library.tags import get_or_create_tag, parse_tag

UNKNOWN_CHARACTER = "meta:unknown_character"


class Decision(str, enum.Enum):
    ACCEPT = "accept"  # the top guess is right
    REJECT = "reject"  # the top guess is wrong (the image leaves the queue)
    PICK = "pick"  # another candidate is right: accept it, reject the top guess
    NONE = "none"  # none of the candidates: reject them all, mark "unknown character"


def labels_for(decision: Decision, candidates: Sequence[str], pick: int = 0,
               ) -> tuple[list[str], list[str]]:
    """(tags to accept, tags to reject) for a decision on an item with ``candidates``
    (character tags, best first); ``pick`` is the 0-based candidate for PICK."""
    if not candidates:
        raise ValueError("this image has no candidates to decide on")
    top = candidates[0]
    if decision is Decision.ACCEPT:
        return [top], []
    if decision is Decision.REJECT:
        return [], [top]
    if decision is Decision.PICK:
        if not 0 <= pick < len(candidates):
            raise ValueError(f"there is no candidate {pick + 1} (this image has {len(candidates)})")
        if pick == 0:
            return [top], []
        return [candidates[pick]], [top]
    return [UNKNOWN_CHARACTER], list(candidates)


def write_labels(session: Session, image_ids: Sequence[int], accept: Sequence[str],
                 reject: Sequence[str], source: str = "user") -> list[LabelChange]:
    """Set labels inside a writer transaction; returns what was there before, for undo."""
    now = time.time()
    changes: list[LabelChange] = []
    for state, tags in (("accepted", accept), ("rejected", reject)):
        for tag in tags:
            tag_id = get_or_create_tag(session, *parse_tag(tag))
            changes += put_labels(session, image_ids, tag_id, state, source, now)
    session.flush()
    effective.refresh_images(session.connection(), image_ids)
    return changes


def decide(lib: Library, image_id: int, decision: Decision | str, candidates: Sequence[str],
           pick: int = 0) -> list[LabelChange]:
    """Apply one decision in one transaction; ``lib.undo(result)`` takes it back."""
    accept, reject = labels_for(Decision(decision), candidates, pick)
    return lib.write(lambda s: write_labels(s, [image_id], accept, reject))
