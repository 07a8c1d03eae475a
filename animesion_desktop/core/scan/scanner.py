"""The scan job: compare roots with the library, read what is new or changed, record it all.

1. **Listing** (fast, no file is opened): walk each root, compare every image file's
   ``(size, mtime_ns)`` with its row loaded in one query. Unchanged files cost one ``stat`` and
   no write. Rows not seen are marked missing (by set difference), missing rows seen again
   unchanged are restored.
2. **Indexing**: new and changed files go to a small thread pool (hash, header probe, draft-mode
   thumbnail); results come back in listing order and the single writer records them in
   batches (every 200 files or 1 s). A new path whose image belongs to a missing file is that
   file moved: the row is reused.

Cancelling (or killing the process) loses nothing committed; scanning again carries on, since
recorded files are then unchanged.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy.orm import Session

from animesion_desktop.core.crashpoints import pause_point
from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.library import Library, files
from animesion_desktop.core.library.files import FileRecord, KnownFile, RecordOutcome
from animesion_desktop.core.priority import lower_thread_priority
from animesion_desktop.core.scan.decode import DEFAULT_MAX_PIXELS
from animesion_desktop.core.scan.probe import Probed, process_file
from animesion_desktop.core.scan.thumbnails import thumbnail_path
from animesion_desktop.core.scan.walk import SEP, Listed, WalkErrors, walk_images

BATCH_FILES = 200
BATCH_SECONDS = 1.0
_YIELD_EVERY = 0.1  # seconds between progress reports
MAX_LISTED_ERRORS = 1000  # error lines kept in a summary (all are in the database anyway)


def default_workers() -> int:
    """Decoding and hashing release the GIL; one thread more than cores keeps the disk busy."""
    return max(2, min(8, (os.cpu_count() or 2) + 1))


@dataclass(frozen=True)
class Pending:
    """A listed file that must be read."""

    root_id: int
    root: bytes
    listed: Listed
    known: KnownFile | None

    @property
    def path(self) -> bytes:
        return self.root + SEP + self.listed.relpath_raw

    def display(self) -> str:
        return os.fsdecode(self.root) + os.sep + files.display_relpath(self.listed.relpath_raw)


@dataclass
class IndexTotals:
    """What an indexing run did, summed over its batches."""

    outcome: RecordOutcome = field(default_factory=RecordOutcome)
    read: int = 0  # files whose bytes were hashed
    thumbnails: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    cancelled: bool = False

    def add(self, o: RecordOutcome) -> None:
        t = self.outcome
        t.new += o.new
        t.changed += o.changed
        t.touched += o.touched
        t.moved += o.moved
        t.errors += o.errors
        t.gone += o.gone
        t.new_images += o.new_images
        t.reclaimed.extend(o.reclaimed)
        t.image_ids.extend(o.image_ids)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


@dataclass
class ScanSummary:
    new: int = 0
    changed: int = 0
    moved: int = 0
    missing: int = 0
    errors: int = 0
    unchanged: int = 0
    restored: int = 0  # missing files found again, unchanged (counted in unchanged too)
    hashed: int = 0  # files actually read and hashed (0 on a rescan of unchanged files)
    thumbnails: int = 0
    new_images: int = 0
    image_ids: list[int] = field(default_factory=list)  # at new/changed paths: to tag
    error_files: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    folder_errors: list[str] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return self.new + self.changed + self.moved + self.errors + self.unchanged

    @property
    def changes(self) -> int:
        """Files whose record changed: new, changed, moved, missing, found again, errors."""
        return self.new + self.changed + self.moved + self.missing + self.errors + self.restored

    def line(self) -> str:
        head = "interrupted after" if self.cancelled else "scanned"
        text = (
            f"{head} {_count(self.files, 'file')} in {self.seconds:.1f} s: {self.new:,} new, "
            f"{self.changed:,} changed, {self.moved:,} moved, {self.missing:,} missing, "
            f"{_count(self.errors, 'error')}, {self.unchanged:,} unchanged"
        )
        if self.restored:
            text += f" ({self.restored:,} found again)"
        if self.folder_errors:
            text += f"; {_count(len(self.folder_errors), 'folder')} could not be read"
        return text

    def absorb(self, totals: IndexTotals, marked_missing: Iterable[int] = ()) -> None:
        """Add an indexing run; ``marked_missing``: rows this scan marked missing (a move that
        reclaims one of them is a move, not a missing file)."""
        o = totals.outcome
        self.new += o.new
        self.changed += o.changed
        self.moved += o.moved
        self.errors += o.errors
        self.unchanged += o.touched
        self.missing += o.gone - len(set(marked_missing).intersection(o.reclaimed))
        self.hashed += totals.read
        self.thumbnails += totals.thumbnails
        self.new_images += o.new_images
        self.image_ids = list(dict.fromkeys([*self.image_ids, *o.image_ids]))
        self.error_files.extend(totals.errors)
        self.cancelled = self.cancelled or totals.cancelled


def _records(item: Pending, probed: Probed) -> FileRecord:
    listed = item.listed
    return FileRecord(
        item.root_id, listed.relpath_raw, listed.size, listed.mtime_ns, item.known,
        probed.hash, probed.width, probed.height, probed.format, probed.error, probed.gone,
    )


def index_files(
    lib: Library,
    items: Sequence[Pending],
    cancel: threading.Event,
    *,
    workers: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    batch_files: int = BATCH_FILES,
    batch_seconds: float = BATCH_SECONDS,
    stage: str = "indexing",
    also: Callable[[Image.Image], Any] | None = None,
    also_size: int | None = None,
    thumb_hash: Callable[[Image.Image], Any] | None = None,
    on_take: Callable[[Pending, Probed], None] | None = None,
    on_commit: Callable[[Sequence[FileRecord]], None] | None = None,
) -> Job[IndexTotals]:
    """Read ``items`` on a thread pool and record them in order, in batched transactions.

    Hooks for the one-pass job (core/indexing): ``also``/``also_size``/``thumb_hash`` go to
    :func:`process_file`; ``on_take`` sees each result in listing order on the job's thread;
    ``on_commit`` gets the records of each batch once the writer committed it.
    """
    totals = IndexTotals()
    total = len(items)
    if not total:
        return totals
    thumbs_dir = lib.location.thumbs_dir
    n_workers = workers or default_workers()
    batch: list[FileRecord] = []
    in_flight: Future[RecordOutcome] | None = None
    in_flight_records: list[FileRecord] = []
    last_commit = time.monotonic()

    def commit() -> None:
        """Hand the batch to the writer; first wait for the previous one (one in flight)."""
        nonlocal batch, in_flight, in_flight_records, last_commit
        if in_flight is not None:
            done, in_flight = in_flight, None
            totals.add(done.result())
            if on_commit is not None:
                on_commit(in_flight_records)
            pause_point(f"{stage}:committed")  # kill -9 tests: a batch in, the next not yet
        if batch:
            records, batch = batch, []
            in_flight_records = records
            in_flight = lib.submit(lambda s: files.record_files(s, records, time.time()))
        last_commit = time.monotonic()

    def take(item: Pending, probed: Probed) -> None:
        batch.append(_records(item, probed))
        if probed.hash is not None:
            totals.read += 1
        totals.thumbnails += probed.thumbnail_made
        if probed.error is not None and len(totals.errors) < MAX_LISTED_ERRORS:
            totals.errors.append((item.display(), probed.error))
        if on_take is not None:
            on_take(item, probed)

    # Nicer workers: a scan in the app's background never makes its window stutter.
    pool = ThreadPoolExecutor(n_workers, thread_name_prefix="animesion-scan",
                              initializer=lower_thread_priority)
    queue: deque[tuple[Pending, Future[Probed]]] = deque()
    upcoming = iter(items)

    def fill() -> None:
        while len(queue) < n_workers * 4:
            item = next(upcoming, None)
            if item is None:
                return
            fut = pool.submit(process_file, item.path, item.listed.size, thumbs_dir,
                              max_pixels=max_pixels, also=also, also_size=also_size,
                              thumb_hash=thumb_hash)
            queue.append((item, fut))

    try:
        fill()
        done = 0
        last_yield = 0.0
        while queue:
            if cancel.is_set():
                totals.cancelled = True
                break
            item, fut = queue.popleft()
            probed = fut.result()
            fill()
            take(item, probed)
            done += 1
            now = time.monotonic()
            if len(batch) >= batch_files or now - last_commit >= batch_seconds:
                commit()
            if now - last_yield >= _YIELD_EVERY or done == total:
                last_yield = now
                yield Progress(stage, done, total, message=item.display())
        if totals.cancelled:
            # Keep what the workers already finished (in order); drop what never started.
            for _, fut in queue:
                fut.cancel()
            for item, fut in queue:
                if not fut.cancelled():
                    take(item, fut.result())
            queue.clear()
        commit()
        commit()  # wait for the last batch
    except GeneratorExit:  # the caller dropped the job: save what was read, then stop
        totals.cancelled = True
        for _, fut in queue:
            fut.cancel()
        commit()
        commit()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return totals


def library_dirs(lib: Library) -> frozenset[bytes]:
    loc = lib.location
    return frozenset(
        os.fsencode(os.path.realpath(d)) for d in (loc.thumbs_dir, loc.packs_dir, loc.config_dir)
    )


def mark_seen(lib: Library, missing: Sequence[int], restore: Sequence[int]) -> None:
    """One transaction: files gone are missing, missing files found again are ok."""
    now = time.time()

    def apply(session: Session) -> None:
        files.mark_missing(session, missing)
        files.restore(session, restore, now)

    lib.write(apply)


def resolve_roots(lib: Library, roots: Iterable[str | os.PathLike[str]] | None) -> list[tuple[int, Path]]:
    """(root id, path) of the given folders, adding them to the library; all roots if None."""
    if roots is None:
        return files.root_paths(lib)
    out: dict[int, Path] = {}
    for root in roots:
        root_id = lib.add_root(root)
        out.setdefault(root_id, Path(root).expanduser().resolve())
    return list(out.items())


def scan_roots(
    lib: Library,
    roots: Iterable[str | os.PathLike[str]] | None = None,
    cancel: threading.Event | None = None,
    *,
    workers: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    batch_files: int = BATCH_FILES,
    batch_seconds: float = BATCH_SECONDS,
    **hooks: Any,
) -> Job[ScanSummary]:
    """Scan folders (adding them as roots; ``None`` rescans every root). Yields Progress.

    Returns a :class:`ScanSummary`. Every file that cannot be read is recorded with
    ``status='error'`` and a one-line reason; the scan always goes on. ``hooks``: the
    one-pass job's keyword arguments for :func:`index_files`.
    """
    cancel = cancel if cancel is not None else threading.Event()
    started = time.monotonic()
    summary = ScanSummary()
    targets = resolve_roots(lib, roots)
    exclude = library_dirs(lib)
    work: list[Pending] = []
    marked_missing: set[int] = set()
    listed = 0
    last_yield = 0.0
    for root_id, root_path in targets:
        root = os.fsencode(root_path)
        if not os.path.isdir(root):
            summary.folder_errors.append(
                f"{root_path}: folder not found (not mounted?); its files were left as they were"
            )
            continue
        remaining = files.known_files(lib, root_id)
        restore: list[int] = []
        walk_errors = WalkErrors()
        for entry in walk_images(root, errors=walk_errors, exclude=exclude):
            known = remaining.pop(entry.relpath_raw, None)
            if (
                known is not None
                and known.size == entry.size
                and known.mtime_ns == entry.mtime_ns
                and known.image_id is not None
                and known.status != "error"
            ):
                summary.unchanged += 1
                if known.status == "missing":
                    restore.append(known.id)
            else:
                work.append(Pending(root_id, root, entry, known))
            listed += 1
            if not listed & 1023:
                if cancel.is_set():
                    summary.cancelled = True
                    summary.seconds = time.monotonic() - started
                    return summary
                now = time.monotonic()
                if now - last_yield >= _YIELD_EVERY:
                    last_yield = now
                    yield Progress("listing", listed, None, message=os.fsdecode(entry.relpath_raw))
        vanished = [
            k.id for rel, k in remaining.items()
            if k.status != "missing" and not walk_errors.covers(rel)
        ]
        summary.folder_errors.extend(
            f"{root_path}{os.sep}{files.display_relpath(rel)}: {reason}"
            for rel, reason in walk_errors.folders
        )
        if vanished or restore:
            mark_seen(lib, vanished, restore)
        summary.missing += len(vanished)
        summary.restored += len(restore)
        marked_missing.update(vanished)
    yield Progress("listing", listed, listed)

    totals = yield from index_files(
        lib, work, cancel, workers=workers, max_pixels=max_pixels,
        batch_files=batch_files, batch_seconds=batch_seconds, **hooks,
    )
    summary.absorb(totals, marked_missing)
    summary.seconds = time.monotonic() - started
    return summary


@dataclass(frozen=True)
class PurgeSummary:
    files: int
    images: int


def purge_missing(lib: Library, root_id: int | None = None) -> PurgeSummary:
    """Forget missing files for good, with the images only they showed and those images'
    labels, predictions and thumbnails. Images that still have another file are kept."""
    deleted, hashes = lib.write(lambda s: files.delete_missing(s, root_id))
    for h in hashes:
        with contextlib.suppress(FileNotFoundError):
            thumbnail_path(lib.location.thumbs_dir, h).unlink()
    return PurgeSummary(deleted, len(hashes))
