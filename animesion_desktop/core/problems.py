"""Unreadable and missing files, with their reasons, and what purging the missing ones drops.

The two sets are the search language's: ``is:error`` (files that could not be read, with the
error the scan recorded) and ``is:missing`` (images none of whose files is on disk any more).
Purging (``core.scan.purge_missing``) forgets every missing file, and the images only missing
files showed, with their labels: :func:`purge_plan` counts that first, so the user is asked
with the numbers in front of them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, text

from animesion_desktop.core.library import Library
from animesion_desktop.core.search import search


@dataclass(frozen=True)
class ProblemFile:
    path: str
    status: str  # "error" (unreadable) or "missing"
    reason: str
    image_id: int | None


@dataclass(frozen=True)
class Problems:
    files: list[ProblemFile]  # the first ``limit`` of each kind
    unreadable: int  # totals
    missing: int  # images with no file left on disk


@dataclass(frozen=True)
class PurgePlan:
    files: int  # missing file rows to forget
    images: int  # images only those files showed: they leave the library
    labelled: int  # of those, images with decisions
    labels: int  # the decisions lost with them


_FILES = text("""
    SELECT f.id, r.path, f.relpath, f.status, f.error, f.seen_at, f.image_id
      FROM files f JOIN roots r ON r.id = f.root_id
     WHERE {where} ORDER BY lower(r.path), lower(f.relpath)
""")


def _when(seen_at: float | None) -> str:
    if not seen_at:
        return "no longer on disk"
    return "no longer on disk (last seen " + time.strftime(
        "%Y-%m-%d %H:%M", time.localtime(seen_at)) + ")"


def problems(lib: Library, limit: int = 5000) -> Problems:
    errors = search(lib, "is:error", limit=limit)
    missing = search(lib, "is:missing", limit=limit)
    out: list[ProblemFile] = []
    with lib.read() as s:
        if errors.ids:
            stmt = text(_FILES.text.format(where="f.id IN :ids")).bindparams(
                bindparam("ids", expanding=True))
            for _id, root, rel, _st, error, _seen, image in s.execute(stmt, {"ids": errors.ids}):
                out.append(ProblemFile(os.path.join(str(root), str(rel)), "error",
                                       str(error or "unreadable"), image))
        if missing.ids:
            stmt = text(_FILES.text.format(
                where="f.status = 'missing' AND f.image_id IN :ids")).bindparams(
                bindparam("ids", expanding=True))
            for _id, root, rel, _st, _err, seen, image in s.execute(stmt, {"ids": missing.ids}):
                out.append(ProblemFile(os.path.join(str(root), str(rel)), "missing",
                                       _when(seen), image))
    return Problems(out, errors.total, missing.total)


def purge_plan(lib: Library) -> PurgePlan:
    """What ``purge_missing(lib)`` would forget (the same rule as files.delete_missing)."""
    gone = ("SELECT id FROM images i WHERE EXISTS (SELECT 1 FROM files f WHERE f.image_id = i.id "
            "AND f.status = 'missing') AND NOT EXISTS (SELECT 1 FROM files f "
            "WHERE f.image_id = i.id AND f.status != 'missing')")
    with lib.read() as s:
        files = s.execute(text("SELECT count(*) FROM files WHERE status = 'missing'")).scalar_one()
        images = s.execute(text(f"SELECT count(*) FROM ({gone})")).scalar_one()
        labelled, labels = s.execute(text(
            f"SELECT count(DISTINCT image_id), count(*) FROM labels WHERE image_id IN ({gone})")
        ).one()
    return PurgePlan(int(files), int(images), int(labelled), int(labels))
