"""Everything the library holds about one image, as plain data (``animesion show --json``):
the image, its files, the decisions on it, its effective tags, and per pack what the model
said, with the pack's threshold beside every score. Built from the one view of an image,
:mod:`animesion_desktop.core.image_view`."""

from __future__ import annotations

from typing import Any

from animesion_desktop.core.image_view import image_view
from animesion_desktop.core.library import Library


def image_record(lib: Library, image_id: int) -> dict[str, Any] | None:
    view = image_view(lib, image_id)
    return None if view is None else view.record()
