"""Removing a root folder from the library, and what that drops.

Removing a root forgets its files (nothing on disk is touched). An image belongs to its content,
not to a file, so an image that another root still shows keeps everything. An image shown only
by this root leaves the library with its predictions and thumbnail, unless it carries
decisions (labels, from the user or an import): those images are kept, without a file, so their
labels come back the moment the folder (or a copy of any of its pictures) is added again. A
caller may drop those too, but only by asking (``keep_labelled=False``), after showing the
counts that :func:`removal_plan` returns.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from animesion_desktop.core.errors import UserError
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan.thumbnails import thumbnail_path

# Images with a file in the root and none in any other root.
_ONLY_HERE = """
    SELECT DISTINCT f.image_id FROM files f
     WHERE f.root_id = :root AND f.image_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM files g WHERE g.image_id = f.image_id AND g.root_id != :root)
"""


@dataclass(frozen=True)
class RootRemoval:
    path: str
    files: int  # file rows forgotten
    images: int  # images shown only by this root
    labelled: int  # of those, images carrying labels
    labels: int  # the labels on them

    def line(self, keep_labelled: bool = True) -> str:
        left = self.images - (self.labelled if keep_labelled else 0)
        out = f"Removed {self.path}: {plural(self.files, 'file')} forgotten, " \
              f"{plural(left, 'image')} left the library"
        if self.labelled and keep_labelled:
            out += (f"; {plural(self.labelled, 'image')} with "
                    f"{plural(self.labels, 'decision')} kept (they come back with the folder)")
        elif self.labelled:
            out += f", with {plural(self.labels, 'decision')}"
        return out


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _root_path(session: Session, root_id: int) -> str:
    path = session.execute(text("SELECT path FROM roots WHERE id = :r"), {"r": root_id}).scalar()
    if path is None:
        raise UserError(f"root {root_id}: not in the library")
    return str(path)


def _plan(session: Session, root_id: int) -> tuple[RootRemoval, list[int], list[int]]:
    """The counts, the ids of images only here, and those of them with labels."""
    path = _root_path(session, root_id)
    p = {"root": root_id}
    files = int(session.execute(text("SELECT count(*) FROM files WHERE root_id = :root"), p)
                .scalar_one())
    only = [int(i) for (i,) in session.execute(text(_ONLY_HERE), p)]
    labelled = [int(i) for (i,) in session.execute(text(
        f"SELECT DISTINCT image_id FROM labels WHERE image_id IN ({_ONLY_HERE})"), p)]
    labels = int(session.execute(text(
        f"SELECT count(*) FROM labels WHERE image_id IN ({_ONLY_HERE})"), p).scalar_one())
    return RootRemoval(path, files, len(only), len(labelled), labels), only, labelled


def removal_plan(lib: Library, root_id: int) -> RootRemoval:
    """What removing the root would drop (shown before asking)."""
    with lib.read() as s:
        return _plan(s, root_id)[0]


def remove_root(lib: Library, root_id: int, keep_labelled: bool = True) -> RootRemoval:
    """Remove the root and its files in one transaction (see the module docstring)."""

    def apply(session: Session) -> tuple[RootRemoval, list[str]]:
        plan, only, labelled = _plan(session, root_id)
        drop = sorted(set(only) - set(labelled)) if keep_labelled else only
        conn = session.connection()
        conn.execute(text("DELETE FROM roots WHERE id = :r"), {"r": root_id})  # files cascade
        hashes: list[str] = []
        for k in range(0, len(drop), 500):
            chunk = drop[k : k + 500]
            marks = ",".join(str(int(i)) for i in chunk)  # ints from the database itself
            hashes += [str(h) for (h,) in conn.execute(
                text(f"SELECT hash FROM images WHERE id IN ({marks})"))]
            conn.execute(text(f"DELETE FROM images WHERE id IN ({marks})"))
        return plan, hashes

    plan, hashes = lib.write(apply)
    for h in hashes:  # after the commit: a crash before it leaves the thumbnails, not holes
        with contextlib.suppress(FileNotFoundError):
            thumbnail_path(lib.location.thumbs_dir, h).unlink()
    return plan
