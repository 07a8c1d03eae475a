"""Tag suggestions as the user types: names containing the text, most used first.

Counts are how many images have the tag among their effective tags (``image_tags``); the index
keeps them with its bitmaps, so a keystroke scans tag names, not ``image_tags``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from animesion_desktop.core.library import Library
from animesion_desktop.core.library.schema import CATEGORIES
from animesion_desktop.core.library.tags import normalize_name, tag_text
from animesion_desktop.core.search.executor import index_for

_KEYED = re.compile(r"([A-Za-z_]+):(.*)\Z", re.S)


class TagCount(NamedTuple):
    category: str
    name: str
    count: int  # type: ignore[assignment]  # shadows tuple.count, on purpose


def autocomplete(
    lib: Library, text: str = "", limit: int | None = 20, *, include_unused: bool = False
) -> list[TagCount]:
    """Tags whose name contains ``text`` (``*`` is a wildcard; a ``category:`` prefix restricts;
    a leading ``-`` and quotes are ignored, so a half-typed query term works). An exact name
    comes first, then the rest by count, most used first. Tags no image has are left out unless
    ``include_unused``."""
    category, needle = _understand(text)
    pattern = re.compile(".*".join(re.escape(part) for part in needle.split("*")))

    index = index_for(lib)
    with index.snapshot():
        found = [
            (tag_id, cat, name) for tag_id, cat, name in index.tags()
            if (category is None or cat == category) and pattern.search(name)
        ]
        counts = index.tag_counts(t for t, _c, _n in found)
    rows = [TagCount(c, n, counts[t]) for t, c, n in found if include_unused or counts[t] > 0]
    rows.sort(key=lambda r: (r.name != needle, -r.count, r.name, r.category))
    return rows if limit is None else rows[:limit]


def tag_completions(lib: Library, token: str, limit: int = 15) -> list[str]:
    """What to offer for a half-typed query term, as text to put in the query.

    ``token`` is the term as typed (``blue_h``, ``character:``, ``character:mi``, ``-hat``): a
    category prefix restricts the search *before* the limit, so ``character:`` lists the most
    used characters even when fifteen general tags are used more."""
    return [tag_text(row.category, row.name) for row in autocomplete(lib, token, limit=limit)]


def _understand(text: str) -> tuple[str | None, str]:
    text = text.strip().lstrip("-(").replace('"', "")
    m = _KEYED.match(text)
    category = None
    if m and m.group(1).lower() in CATEGORIES:
        category, text = m.group(1).lower(), m.group(2)
    return category, normalize_name(text)
