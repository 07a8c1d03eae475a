"""Counts about one installed pack that the app shows before acting on it."""

from __future__ import annotations

from sqlalchemy import text

from animesion_desktop.core.library import Library


def prediction_counts(lib: Library, name: str) -> tuple[int, int]:
    """(predictions, distinct images) the pack ``name`` holds: what removing it drops."""
    with lib.read() as s:
        row = s.execute(text("SELECT count(*), count(DISTINCT p.image_id) FROM predictions p "
                             "JOIN packs k ON k.id = p.pack_id WHERE k.name = :n"),
                        {"n": name}).one()
    return int(row[0]), int(row[1])
