"""Near-duplicates: hashing images from their thumbnails, grouping them, keeping one.

:func:`hash_images` is a core job: it hashes every image that has no hash yet (from its cached
thumbnail, making the thumbnail from a file if the cache lost it), then regroups the library.
Groups are stored as ``image_phash.dup_group`` = the smallest image id of the group, which is
what ``is:duplicate`` and ``duplicate:ID`` search. :func:`keep_one` moves the files of the other
images of a group to the system trash (never unlinks) and marks them missing; the images and
their labels stay until the user purges missing files.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.library import Library, LibraryError
from animesion_desktop.core.scan.thumbnails import ensure_thumbnail, thumbnail_path
from animesion_desktop.core.similar.groups import MAX_DISTANCE, group_labels
from animesion_desktop.core.similar.phash import phash

log = logging.getLogger(__name__)
_BATCH = 500


@dataclass
class HashSummary:
    hashed: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (image id, reason)
    groups: int = 0
    in_groups: int = 0
    cancelled: bool = False


def unhashed(lib: Library) -> list[tuple[int, str]]:
    with lib.read() as s:
        return [(int(i), str(h)) for i, h in s.execute(text(
            "SELECT i.id, i.hash FROM images i LEFT JOIN image_phash p ON p.image_id = i.id "
            "WHERE p.image_id IS NULL ORDER BY i.id"))]


def _hash_one(lib: Library, image_id: int, image_hash: str) -> int:
    path = thumbnail_path(lib.location.thumbs_dir, image_hash)
    if not path.exists():
        made = ensure_thumbnail(lib, image_id)
        if made is None:
            raise OSError("no thumbnail and no readable file")
        path = made
    with Image.open(path) as im:
        return phash(im)


def hash_images(lib: Library, cancel: threading.Event | None = None,
                max_distance: int = MAX_DISTANCE, *, force: bool = False) -> Job[HashSummary]:
    """Hash the images that have no perceptual hash yet, then regroup (if any was hashed, or
    ``force``). Yields Progress."""
    cancel = cancel or threading.Event()
    todo = unhashed(lib)
    summary = HashSummary()
    done = 0
    for start in range(0, len(todo), _BATCH):
        if cancel.is_set():
            summary.cancelled = True
            break
        rows = []
        for image_id, image_hash in todo[start : start + _BATCH]:
            try:
                rows.append({"i": image_id, "h": _hash_one(lib, image_id, image_hash)})
            except Exception as exc:  # one unreadable image never stops the job
                summary.failed.append((image_id, str(exc) or type(exc).__name__))
        if rows:
            lib.write(_store_hashes(rows))
        summary.hashed += len(rows)
        done += len(todo[start : start + _BATCH])
        yield Progress("hashing", done, len(todo))
    if summary.hashed or force:  # a group that only lost members is harmless: see groups()
        summary.groups, summary.in_groups = regroup(lib, max_distance)
    return summary


def _store_hashes(rows: list[dict[str, int]]) -> Callable[[Session], None]:
    def store(s: Session) -> None:
        # An image deleted meanwhile (a scan cleaned it up) is skipped, not an error.
        s.execute(text("INSERT OR REPLACE INTO image_phash (image_id, phash, dup_group) "
                       "SELECT :i, :h, NULL WHERE EXISTS (SELECT 1 FROM images WHERE id = :i)"),
                  rows)
    return store


def store_hashes(rows: list[dict[str, int]]) -> Callable[[Session], None]:
    """The writer's work for ``{"i": image id, "h": hash}`` rows hashed elsewhere (the one-pass
    job hashes each thumbnail as it writes it); :func:`regroup` afterwards."""
    return _store_hashes(rows)


def regroup(lib: Library, max_distance: int = MAX_DISTANCE) -> tuple[int, int]:
    """Recompute every group; writes only rows whose group changed. Returns (groups, images)."""
    with lib.read() as s:
        rows = s.execute(text("SELECT image_id, phash, dup_group FROM image_phash "
                              "ORDER BY image_id")).all()
    if not rows:
        return 0, 0
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    hashes = np.array([r[1] for r in rows], dtype=np.int64)
    old = np.array([-1 if r[2] is None else r[2] for r in rows], dtype=np.int64)
    labels = group_labels(hashes, max_distance)
    new = np.where(labels >= 0, ids[np.maximum(labels, 0)], -1)
    changed = np.flatnonzero(new != old)
    if len(changed):
        params = [{"g": None if new[i] < 0 else int(new[i]), "i": int(ids[i])} for i in changed]
        lib.write(lambda s: s.execute(
            text("UPDATE image_phash SET dup_group = :g WHERE image_id = :i"), params))
    grouped = new[new >= 0]
    return len(np.unique(grouped)), len(grouped)


def groups(lib: Library) -> list[list[int]]:
    """Every group's image ids, largest groups first (then by their first id)."""
    with lib.read() as s:
        rows = s.execute(text("SELECT dup_group, image_id FROM image_phash WHERE dup_group IS "
                              "NOT NULL ORDER BY dup_group, image_id")).all()
    out: dict[int, list[int]] = {}
    for g, i in rows:
        out.setdefault(int(g), []).append(int(i))
    return sorted((ids for ids in out.values() if len(ids) > 1),
                  key=lambda ids: (-len(ids), ids[0]))


def group_of(lib: Library, image_id: int) -> list[int]:
    with lib.read() as s:
        return [int(i) for (i,) in s.execute(text(
            "SELECT b.image_id FROM image_phash a JOIN image_phash b ON b.dup_group = a.dup_group "
            "WHERE a.image_id = :i ORDER BY b.image_id"), {"i": image_id})]


@dataclass
class KeepResult:
    trashed: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def files_to_trash(lib: Library, keep: int) -> list[tuple[int, Path]]:
    """(file id, path) of every present file of the *other* images in ``keep``'s group."""
    others = [i for i in group_of(lib, keep) if i != keep]  # deleted members are gone already
    if not others:
        raise LibraryError(f"image {keep} has no near-duplicates")
    with lib.read() as s:
        rows = s.execute(text(
            "SELECT f.id, r.path, f.relpath_raw FROM files f JOIN roots r ON r.id = f.root_id "
            "WHERE f.status = 'ok' AND f.image_id IN (SELECT value FROM json_each(:ids)) "
            "ORDER BY f.id"), {"ids": "[" + ",".join(map(str, others)) + "]"}).all()
    return [(int(fid), Path(os.fsdecode(os.fsencode(root) + os.sep.encode() + bytes(rel))))
            for fid, root, rel in rows]


def _send_to_trash(path: Path) -> None:
    from send2trash import send2trash  # the platform's trash: recoverable, never an unlink

    send2trash(os.fspath(path))


def keep_one(lib: Library, keep: int, *, confirmed: bool,
             trash: Callable[[Path], None] = _send_to_trash,
             only: Sequence[tuple[int, Path]] | None = None) -> KeepResult:
    """Move the files of the other images in ``keep``'s group to the trash and mark them
    missing. Refuses unless ``confirmed`` (the caller asked the user). ``only``: the list from
    :func:`files_to_trash` the user saw, so nothing beyond it is touched."""
    if not confirmed:
        raise LibraryError("keep one: nothing was moved (not confirmed)")
    targets = list(only) if only is not None else files_to_trash(lib, keep)
    result = KeepResult()
    moved: list[int] = []
    for file_id, path in targets:
        try:
            trash(path)
        except Exception as exc:  # one file that cannot move never stops the rest
            result.failed.append((path, str(exc) or type(exc).__name__))
            continue
        result.trashed.append(path)
        moved.append(file_id)
    if moved:
        def mark(s: Session) -> None:
            s.execute(text("UPDATE files SET status = 'missing' WHERE id = :f"),
                      [{"f": f} for f in moved])
        lib.write(mark)
    return result
