"""What the app and ``animesion label`` need when labels change, and what the inspector shows.

- :func:`refresh_fewshot`: the few-shot head follows the labels at once (closed form, no
  training): called after every label write, on the app's write lane and by ``animesion label``.
- :func:`similar_info`: for one image, whether it can be compared (it has an embedding of the
  pack similar images use) and the suggestions proposed for it, with source and confidence.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import text

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library, LibraryError
from animesion_desktop.core.library.tags import parse_tag
from animesion_desktop.core.similar import fewshot, suggestions
from animesion_desktop.core.similar.index import default_pack


def comparing_pack(lib: Library) -> tuple[int, str] | None:
    """(id, name) of the pack whose embeddings similar images use, or None if none has any."""
    try:
        return default_pack(lib)
    except LibraryError:
        return None


def touches_characters(tags: list[str]) -> bool:
    """Whether a label change on these tags can change the few-shot head (it learns only
    character labels)."""
    return any(parse_tag(t)[0] == "character" for t in tags)


def refresh_fewshot(lib: Library, cancel: threading.Event | None = None) -> int | None:
    """Rerun the few-shot head from the current labels; the number of suggestions it made, or
    None if no active pack has embeddings."""
    pack = comparing_pack(lib)
    if pack is None:
        return None
    return run_to_end(fewshot.update(lib, pack[0], cancel))


@dataclass(frozen=True)
class SimilarInfo:
    image_id: int
    pack: str | None  # the pack compared with
    reason: str  # why the image cannot be compared; "" if it can
    suggestions: tuple[suggestions.Suggested, ...]  # undecided ones, best first

    @property
    def comparable(self) -> bool:
        return not self.reason


def similar_info(lib: Library, image_id: int) -> SimilarInfo:
    """Worker thread: what the inspector's similar panel shows for one image."""
    proposed = tuple(suggestions.list_suggestions(lib, image_id=image_id))
    pack = comparing_pack(lib)
    if pack is None:
        return SimilarInfo(image_id, None, "No active pack has embeddings yet: tag the library "
                                           "with a pack first.", proposed)
    with lib.read() as s:
        has = s.execute(text("SELECT 1 FROM embeddings WHERE image_id = :i AND pack_id = :p"),
                        {"i": image_id, "p": pack[0]}).first() is not None
    reason = "" if has else f"No embedding: this image has not been tagged with {pack[1]} yet."
    return SimilarInfo(image_id, pack[1], reason, proposed)
