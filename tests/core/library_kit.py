"""Building libraries without the scanner, for the search tests (imported as ``library_kit``:
tests/core is on pytest's pythonpath)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from animesion_desktop.core.library import Library
from animesion_desktop.core.library.schema import File, Image

_serial = iter(range(10**9))


def add_images(lib: Library, root_id: int, specs: Sequence[dict[str, Any]]) -> list[int]:
    """Insert images (fake hashes) and their files; returns their ids.

    A spec may give ``width``, ``height``, ``size``, its files as ``files`` [(relpath, status)]
    or one file as ``path`` and ``status`` (default ``img/<id>.png``, ok), and ``tags``, which
    become ``import:test`` labels: effective tags, but not a user's review.
    """

    def apply(s: Session) -> list[int]:
        ids = []
        for spec in specs:
            image = Image(hash=f"{next(_serial):064x}", width=spec.get("width"),
                          height=spec.get("height"), format="png", added_at=time.time())
            s.add(image)
            s.flush()
            one = (spec.get("path", f"img/{image.id}.png"), spec.get("status", "ok"))
            for relpath, status in spec.get("files", [one]):
                relpath = relpath.replace("/", os.sep)
                s.add(File(root_id=root_id, relpath_raw=os.fsencode(relpath), relpath=relpath,
                           size=spec.get("size", 1000), mtime_ns=0, image_id=image.id,
                           status=status, error=None, seen_at=0.0))
            ids.append(image.id)
        return ids

    ids = lib.write(apply)
    by_tag: dict[str, list[int]] = {}
    for image_id, spec in zip(ids, specs, strict=True):
        for t in spec.get("tags", ()):
            by_tag.setdefault(t, []).append(image_id)
    for t, tagged in by_tag.items():
        lib.set_label(tagged, t, "accepted", source="import:test")
    return ids


def rows(lib: Library, sql: str, **params: Any) -> list[tuple]:
    """What a read-only SQL statement returns, as tuples."""
    with lib.read() as s:
        return [tuple(r) for r in s.execute(text(sql), params)]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    """Poll until ``condition()`` holds (events from a real observer come when they come);
    fail the test, naming ``what``, after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
