"""``booru-json``: gallery-dl / Danbooru JSON sidecars (``a.jpg.json`` or ``a.json``):
``tag_string_character``, ``tag_string_copyright``, ``tag_string_artist``,
``tag_string_general``, ``tag_string_meta`` and ``rating`` (g/s/q/e or the words); other
boorus' ``tags`` (a string, a list, or e621's {category: [names]}) are read too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from animesion_desktop.core.exchange.entries import (
    Decision,
    Entry,
    Item,
    Known,
    Problem,
    read_sidecars,
)
from animesion_desktop.core.exchange.options import ImportOptions
from animesion_desktop.core.library.tags import normalize_name

RATINGS = {"g": "general", "general": "general", "safe": "general", "s": "sensitive",
           "sensitive": "sensitive", "q": "questionable", "questionable": "questionable",
           "e": "explicit", "explicit": "explicit"}
FIELDS = {"tag_string_character": "character", "tag_string_copyright": "copyright",
          "tag_string_artist": "artist", "tag_string_general": "general",
          "tag_string_meta": "meta"}
E621 = {"general": "general", "character": "character", "copyright": "copyright",
        "artist": "artist", "meta": "meta", "species": "general"}


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def booru_decisions(doc: dict[str, Any], where: str) -> tuple[list[Decision], list[Problem]]:
    decisions: list[Decision] = []
    problems: list[Problem] = []
    for key, category in FIELDS.items():
        decisions += [(category, normalize_name(n), "accepted") for n in _names(doc.get(key))]
    if not decisions:
        tags = doc.get("tags", doc.get("tag_string"))
        if isinstance(tags, dict):
            for cat, values in tags.items():
                head = E621.get(str(cat))
                if head:
                    decisions += [(head, normalize_name(n), "accepted") for n in _names(values)]
        else:
            decisions += [("general", normalize_name(n), "accepted") for n in _names(tags)]
    rating = doc.get("rating")
    if rating not in (None, ""):
        name = RATINGS.get(str(rating).strip().lower())
        if name is None:
            problems.append(Problem(where, f"rating: unknown value {rating!r} (expected one of "
                                           "g, s, q, e or general, sensitive, questionable, "
                                           "explicit); the rating was skipped"))
        else:
            decisions.append(("rating", name, "accepted"))
    return [d for d in dict.fromkeys(decisions) if d[1]], problems


def read_booru(src: Path, opts: ImportOptions, known: Known) -> Iterator[Item]:
    yield from read_sidecars(src, ".json", "sidecar for a missing file", _booru_entries)


def _booru_entries(path: Path, image: Path, text: str) -> Iterator[Item]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Problem(f"{path}:{exc.lineno}", f"column {exc.colno}: not valid JSON ({exc.msg}); skipped")
        return
    except ValueError as exc:  # valid JSON Python will not read (an integer too long)
        yield Problem(str(path), f"{exc}; skipped")
        return
    if not isinstance(doc, dict):
        yield Problem(str(path), f"expected a JSON object, found a {type(doc).__name__}; skipped")
        return
    decisions, problems = booru_decisions(doc, str(path))
    yield from problems
    if decisions:
        yield Entry(str(path), file=image, decisions=decisions)
