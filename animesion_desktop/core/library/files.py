"""The files repository: every statement about ``files`` rows (and the images they create).

A file is one location of an image: ``(root_id, relpath_raw)`` with the exact bytes of its name,
a printable ``relpath``, the ``(size, mtime_ns)`` it had when last read, its image and a status
(ok / missing / error). Scanning and watching use these functions: write functions take the
writer's session (``lib.write(lambda s: record_files(s, ...))``), reads take the library, and
lookups that may run inside a transaction take its ``Connection``.
Statements are plain SQL with bound parameters, executed in bulk: no ORM object per file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from animesion_desktop.core.library.library import Library

SEP = os.fsencode(os.sep)
_CHUNK = 500  # bound parameters per IN (...) list


class KnownFile(NamedTuple):
    """A files row as the scanner compares it with the disk."""

    id: int
    size: int
    mtime_ns: int
    status: str
    image_id: int | None


@dataclass(frozen=True)
class FileRecord:
    """What reading one file found: an image (``hash`` + probe), an ``error``, or ``gone``."""

    root_id: int
    relpath_raw: bytes
    size: int
    mtime_ns: int
    known: KnownFile | None = None  # the row at this path before the read, if any
    hash: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    error: str | None = None
    gone: bool = False  # vanished between listing and reading


@dataclass
class RecordOutcome:
    new: int = 0
    changed: int = 0
    touched: int = 0  # re-read because size/mtime changed, but the content is the same image
    moved: int = 0
    errors: int = 0
    gone: int = 0  # known files that vanished before they could be read (now missing)
    new_images: int = 0
    reclaimed: list[int] = field(default_factory=list)  # missing rows reused by moves
    image_ids: list[int] = field(default_factory=list)  # images at new or changed locations


def display_relpath(relpath_raw: bytes) -> str:
    return relpath_raw.decode("utf-8", errors="replace")


def _chunks(items: Sequence[object], n: int = _CHUNK) -> Iterator[Sequence[object]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _in_list(prefix: str, values: Sequence[object]) -> tuple[str, dict[str, object]]:
    names = [f"{prefix}{i}" for i in range(len(values))]
    return ", ".join(f":{n}" for n in names), dict(zip(names, values, strict=True))


# -- reads ------------------------------------------------------------------------------------
def root_paths(lib: Library) -> list[tuple[int, Path]]:
    """(id, path) of every root, in the order they were added."""
    with lib.read() as s:
        return [(i, Path(p)) for i, p in s.execute(text("SELECT id, path FROM roots ORDER BY id"))]


def known_files(lib: Library, root_id: int) -> dict[bytes, KnownFile]:
    """Every row of a root, keyed by ``relpath_raw``: one query, for comparing with a listing."""
    with lib.read() as s:
        rows = s.connection().exec_driver_sql(
            "SELECT relpath_raw, id, size, mtime_ns, status, image_id FROM files WHERE root_id = ?",
            (root_id,),
        )
        return {bytes(r[0]): KnownFile(r[1], r[2], r[3], r[4], r[5]) for r in rows}


def _prefix_range(rel_dir: bytes) -> tuple[bytes, bytes]:
    """Blob bounds of every path under ``rel_dir`` (uses the (root_id, relpath_raw) index)."""
    if not rel_dir:
        return b"", b"\xff" * 8
    return rel_dir + SEP, rel_dir + bytes([SEP[0] + 1])


def known_under(conn: Connection, root_id: int, rel_dir: bytes) -> dict[bytes, KnownFile]:
    lo, hi = _prefix_range(rel_dir)
    rows = conn.execute(
        text(
            "SELECT relpath_raw, id, size, mtime_ns, status, image_id FROM files "
            "WHERE root_id = :r AND relpath_raw >= :lo AND relpath_raw < :hi"
        ),
        {"r": root_id, "lo": lo, "hi": hi},
    )
    return {bytes(r[0]): KnownFile(r[1], r[2], r[3], r[4], r[5]) for r in rows}


def known_at(conn: Connection, root_id: int, relpaths: Sequence[bytes]) -> dict[bytes, KnownFile]:
    found: dict[bytes, KnownFile] = {}
    for chunk in _chunks(relpaths):
        marks, params = _in_list("p", chunk)
        rows = conn.execute(
            text(
                "SELECT relpath_raw, id, size, mtime_ns, status, image_id FROM files "
                f"WHERE root_id = :r AND relpath_raw IN ({marks})"
            ),
            {"r": root_id, **params},
        )
        found.update((bytes(r[0]), KnownFile(r[1], r[2], r[3], r[4], r[5])) for r in rows)
    return found


def image_locations(lib: Library, image_id: int) -> tuple[str, list[Path]] | None:
    """An image's hash and the paths of its present (status ok) files; None if unknown."""
    with lib.read() as s:
        rows = list(
            s.execute(
                text(
                    "SELECT i.hash, r.path, f.relpath_raw FROM images i "
                    "LEFT JOIN files f ON f.image_id = i.id AND f.status = 'ok' "
                    "LEFT JOIN roots r ON r.id = f.root_id WHERE i.id = :i ORDER BY f.id"
                ),
                {"i": image_id},
            )
        )
    if not rows:
        return None
    paths = [
        Path(os.fsdecode(os.fsencode(root) + SEP + bytes(rel)))
        for _, root, rel in rows
        if root is not None
    ]
    return rows[0][0], paths


# -- writes (run on the writer thread) ----------------------------------------------------------
_UPSERT = text(
    "INSERT INTO files (root_id, relpath_raw, relpath, size, mtime_ns, image_id, status, error,"
    " seen_at) VALUES (:root, :raw, :rel, :size, :mtime, :image, :status, :error, :now) "
    "ON CONFLICT (root_id, relpath_raw) DO UPDATE SET size = excluded.size, "
    "mtime_ns = excluded.mtime_ns, image_id = excluded.image_id, status = excluded.status, "
    "error = excluded.error, seen_at = excluded.seen_at"
)


def _ensure_images(conn: Connection, records: Sequence[FileRecord], now: float) -> tuple[dict[str, int], int]:
    """Image ids by hash, inserting images seen for the first time (in record order)."""
    first: dict[str, FileRecord] = {}
    for r in records:
        if r.hash is not None:
            first.setdefault(r.hash, r)
    hashes = list(first)
    ids = _image_ids(conn, hashes)
    fresh = [first[h] for h in hashes if h not in ids]
    if fresh:
        conn.execute(
            text(
                "INSERT INTO images (hash, width, height, format, added_at) "
                "VALUES (:h, :w, :ht, :f, :now) ON CONFLICT (hash) DO NOTHING"
            ),
            [{"h": r.hash, "w": r.width, "ht": r.height, "f": r.format, "now": now} for r in fresh],
        )
        ids.update(_image_ids(conn, [r.hash for r in fresh if r.hash is not None]))
    return ids, len(fresh)


def _image_ids(conn: Connection, hashes: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(hashes):
        marks, params = _in_list("h", chunk)
        rows = conn.execute(text(f"SELECT hash, id FROM images WHERE hash IN ({marks})"), params)
        ids.update((h, i) for h, i in rows)
    return ids


def find_file(conn: Connection, root_id: int, relpath_raw: bytes) -> int | None:
    return conn.execute(
        text("SELECT id FROM files WHERE root_id = :r AND relpath_raw = :p"),
        {"r": root_id, "p": relpath_raw},
    ).scalar()


def _claim_missing(
    conn: Connection, records: Sequence[FileRecord], image_ids: dict[str, int]
) -> dict[int, int]:
    """Which new paths are missing files moved: {record index: missing row id}.

    A missing row showing the same image is claimed first by a record with the same mtime (a
    rename or move keeps it; a copy usually does not), then by any other, in record order.
    """
    wanted = [
        (n, image_ids[r.hash], r.mtime_ns) for n, r in enumerate(records)
        if r.known is None and not r.gone and r.error is None and r.hash is not None
    ]
    if not wanted:
        return {}
    candidates: dict[int, list[tuple[int, int]]] = {}
    for chunk in _chunks(sorted({i for _, i, _ in wanted})):
        marks, params = _in_list("i", chunk)
        for file_id, image_id, mtime_ns in conn.execute(
            text(f"SELECT id, image_id, mtime_ns FROM files WHERE status = 'missing' "
                 f"AND image_id IN ({marks}) ORDER BY id"),
            params,
        ):
            candidates.setdefault(image_id, []).append((file_id, mtime_ns))
    claims: dict[int, int] = {}
    for same_mtime in (True, False):
        for n, image_id, mtime_ns in wanted:
            free = candidates.get(image_id)
            if n in claims or not free:
                continue
            for k, (file_id, was_mtime) in enumerate(free):
                if not same_mtime or was_mtime == mtime_ns:
                    claims[n] = file_id
                    del free[k]
                    break
    return claims


def record_files(session: Session, records: Sequence[FileRecord], now: float) -> RecordOutcome:
    """Write what reading files found, in the given order, in the caller's transaction.

    A new path showing the image of a *missing* file is that file moved: its row is reused (the
    file keeps its id; labels, on the image, were never at risk). A changed file points at its
    new image; the old image keeps its labels.
    """
    conn = session.connection()
    out = RecordOutcome()
    ok = [r for r in records if not r.gone and r.error is None and r.hash is not None]
    image_ids, out.new_images = _ensure_images(conn, ok, now)
    moves = _claim_missing(conn, records, image_ids)
    for n, r in enumerate(records):
        base = {"root": r.root_id, "raw": r.relpath_raw, "rel": display_relpath(r.relpath_raw),
                "size": r.size, "mtime": r.mtime_ns, "now": now}
        if r.gone:
            if r.known is not None:
                conn.execute(
                    text("UPDATE files SET status = 'missing' WHERE root_id = :r AND relpath_raw = :p"),
                    {"r": r.root_id, "p": r.relpath_raw},
                )
                out.gone += 1
            continue
        if r.error is not None or r.hash is None:
            conn.execute(_UPSERT, {**base, "image": None, "status": "error",
                                   "error": r.error or "unreadable"})
            out.errors += 1
            continue
        image_id = image_ids[r.hash]
        reuse = moves.get(n)
        if reuse is not None and find_file(conn, r.root_id, r.relpath_raw) is None:
            conn.execute(
                text("UPDATE files SET root_id = :root, relpath_raw = :raw, relpath = :rel, "
                     "size = :size, mtime_ns = :mtime, status = 'ok', error = NULL, "
                     "seen_at = :now WHERE id = :id"),
                {**base, "id": reuse},
            )
            out.moved += 1
            out.reclaimed.append(reuse)
            continue
        conn.execute(_UPSERT, {**base, "image": image_id, "status": "ok", "error": None})
        if r.known is None:
            out.new += 1
        elif r.known.image_id == image_id and r.known.status == "ok":
            out.touched += 1
            continue
        else:
            out.changed += 1
        out.image_ids.append(image_id)
    return out


def mark_missing(session: Session, file_ids: Iterable[int]) -> int:
    """Files no longer found. Their rows (and their images' labels) stay until a purge."""
    params = [{"id": i} for i in file_ids]
    if not params:
        return 0
    session.connection().execute(
        text("UPDATE files SET status = 'missing' WHERE id = :id AND status != 'missing'"), params
    )
    return len(params)


def restore(session: Session, file_ids: Iterable[int], now: float) -> int:
    """Missing files found again, unchanged (a drive mounted again)."""
    params = [{"id": i, "now": now} for i in file_ids]
    if params:
        session.connection().execute(
            text("UPDATE files SET status = 'ok', error = NULL, seen_at = :now WHERE id = :id"),
            params,
        )
    return len(params)


def move_file(
    session: Session, src: tuple[int, bytes], dest: tuple[int, bytes]
) -> int | None:
    """Give the row at ``src`` the path ``dest`` (a rename seen by the watcher).

    A row already at ``dest`` (the rename replaced a file) is dropped: the moved file is what is
    there now. Returns the moved row's id, or None when nothing was known at ``src``.
    """
    conn = session.connection()
    src_id = find_file(conn, *src)
    if src_id is None:
        return None
    dest_id = find_file(conn, *dest)
    if dest_id is not None and dest_id != src_id:
        conn.execute(text("DELETE FROM files WHERE id = :id"), {"id": dest_id})
    conn.execute(
        text("UPDATE files SET root_id = :root, relpath_raw = :raw, relpath = :rel WHERE id = :id"),
        {"root": dest[0], "raw": dest[1], "rel": display_relpath(dest[1]), "id": src_id},
    )
    return src_id


def delete_missing(session: Session, root_id: int | None = None) -> tuple[int, list[str]]:
    """Forget missing files, and the images only they showed (with those images' labels).

    Returns the number of files deleted and the hashes of the images deleted (whose thumbnails
    the caller may remove). Images that still have a file, present or in error, are kept.
    """
    conn = session.connection()
    where = "status = 'missing'" + ("" if root_id is None else " AND root_id = :root")
    params = {} if root_id is None else {"root": root_id}
    image_ids = sorted(
        {i for (i,) in conn.execute(text(f"SELECT image_id FROM files WHERE {where}"), params)
         if i is not None}
    )
    deleted = conn.execute(text(f"DELETE FROM files WHERE {where}"), params).rowcount
    hashes: list[str] = []
    for chunk in _chunks(image_ids):
        marks, p = _in_list("i", chunk)
        orphans = list(
            conn.execute(
                text(f"SELECT id, hash FROM images WHERE id IN ({marks}) AND NOT EXISTS "
                     "(SELECT 1 FROM files f WHERE f.image_id = images.id)"),
                p,
            )
        )
        if orphans:
            conn.execute(text("DELETE FROM images WHERE id = :id"), [{"id": i} for i, _ in orphans])
            hashes.extend(h for _, h in orphans)
    return deleted, hashes
