"""Watching roots: file-system events, debounced into a few batched transactions.

The watchdog observer's thread only *notes* events (paths, renames) under a lock. A flush —
after ``quiet`` seconds without events, at most ``max_delay`` after the first one, or whenever
:meth:`Watcher.flush` is called — turns what was noted into library changes:

1. renames and moves update the rows' paths (the file keeps its row; labels live on images),
2. every touched path is compared with the disk: gone → missing, unchanged → nothing,
   found again → restored, new or changed → read (hash, probe, thumbnail) on the scan pool and
   recorded in batches,
3. ``on_new_images`` receives the image ids at new or changed paths (the tagging queue).

Events are hints, the disk is the truth: any mix or order of events ends in the same state.
So nothing noted is ever dropped: a flush that fails or is cancelled puts what it took back,
and :meth:`Watcher.stop` lets a flush in progress finish, then flushes what is left.
The app runs a :class:`Watcher` beside its GUI; tests call :meth:`flush` instead of sleeping.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from animesion_desktop.core.jobs import Job, run_to_end
from animesion_desktop.core.library import Library, files
from animesion_desktop.core.scan.decode import DEFAULT_MAX_PIXELS
from animesion_desktop.core.scan.scanner import (
    IndexTotals,
    Pending,
    ScanSummary,
    index_files,
    library_dirs,
    mark_seen,
    resolve_roots,
)
from animesion_desktop.core.scan.walk import SEP, Listed, is_image_name, walk_images

log = logging.getLogger(__name__)

# (library, files to read, cancel, workers=, max_pixels=, stage=) -> the indexing job
Indexer = Callable[..., Job[IndexTotals]]

_EVENTS = [
    FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileAttribEvent, FileDeletedEvent,
    FileMovedEvent, DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]


@dataclass(frozen=True)
class _Where:
    root_id: int
    root: bytes
    rel: bytes  # b"" for the root itself

    @property
    def key(self) -> tuple[int, bytes]:
        return self.root_id, self.rel


@dataclass
class _Noted:
    paths: dict[bytes, None] = field(default_factory=dict)  # files to compare with the disk
    dirs: dict[bytes, None] = field(default_factory=dict)  # folders created or deleted
    moves: list[tuple[bytes, bytes, bool]] = field(default_factory=list)  # src, dest, is_dir

    def __len__(self) -> int:
        return len(self.paths) + len(self.dirs) + len(self.moves)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._watcher.note(event)


class Watcher:
    """Keeps the library in step with its roots while running. Start, then stop (or ``with``)."""

    def __init__(
        self,
        lib: Library,
        roots: Iterable[str | os.PathLike[str]] | None = None,
        *,
        on_new_images: Callable[[list[int]], None] | None = None,
        on_flush: Callable[[ScanSummary], None] | None = None,
        quiet: float = 0.75,
        max_delay: float = 5.0,
        auto_flush: bool = True,
        polling: bool = False,
        cancel: threading.Event | None = None,
        workers: int | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        index: Indexer | None = None,
    ) -> None:
        """``on_new_images`` and ``on_flush`` run on the watcher's thread: keep them short
        (put the ids in a queue, emit a Qt signal). ``auto_flush=False`` leaves flushing to
        the caller (tests). ``index`` reads and records the new and changed files (default
        :func:`index_files`; the app passes the one-pass job's, which also tags them)."""
        self._lib = lib
        self._root_args = None if roots is None else list(roots)
        self._on_new_images = on_new_images
        self._on_flush = on_flush
        self._quiet = quiet
        self._max_delay = max_delay
        self._auto_flush = auto_flush
        self._polling = polling
        self.cancel = cancel if cancel is not None else threading.Event()
        self._workers = workers
        self._max_pixels = max_pixels
        self._index: Indexer = index if index is not None else index_files
        self._roots: list[tuple[int, bytes]] = []
        self._exclude_dirs: frozenset[bytes] = frozenset()
        self._exclude: tuple[bytes, ...] = ()
        self._cond = threading.Condition()
        self._noted = _Noted()
        self._first_event: float | None = None
        self._last_event = 0.0
        self._flush_lock = threading.Lock()
        self._retry_at = 0.0  # after a failed flush, wait before trying again
        # start() and stop() may come from different threads (the app's pool): one at a time
        self._life = threading.Lock()
        self._stopping = threading.Event()  # ends the flushing loop; unlike cancel, not a flush
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._observer is not None

    def start(self) -> Watcher:
        """Start observing (and flushing, with ``auto_flush``). Starting a running watcher does
        nothing; a stopped one can be started again."""
        with self._life:
            if self._observer is not None:
                return self
            targets = resolve_roots(self._lib, self._root_args)
            # Deepest root first, so a path in a nested root belongs to that root.
            self._roots = sorted(((i, os.fsencode(p)) for i, p in targets),
                                 key=lambda r: -len(r[1]))
            self._exclude_dirs = library_dirs(self._lib)
            self._exclude = tuple(d + SEP for d in self._exclude_dirs)
            self._stopping.clear()
            self._observer = self._start_observer(PollingObserver if self._polling else Observer)
            if self._auto_flush:
                self._thread = threading.Thread(target=self._loop, name="animesion-watch",
                                                daemon=True)
                self._thread.start()
        return self

    def _start_observer(self, kind: Callable[[], BaseObserver]) -> BaseObserver:
        observer = kind()
        handler = _Handler(self)
        try:
            for _, root in self._roots:
                observer.schedule(handler, os.fsdecode(root), recursive=True, event_filter=_EVENTS)
            observer.start()
        except OSError as exc:  # e.g. inotify watch limit reached: poll instead
            with contextlib.suppress(Exception):
                observer.stop()
            if kind is PollingObserver:
                raise
            log.warning("file-system notifications unavailable (%s); polling instead", exc)
            return self._start_observer(PollingObserver)
        return observer

    def stop(self, *, flush: bool = True) -> None:
        """Stop observing, let a flush in progress finish, then (``flush``) record what was
        noted before returning, so nothing seen is lost. Blocks until then; every thread the
        watcher started has ended when it returns. Set ``cancel`` first to stop at once (a
        cancelled flush keeps what it did not record noted, for a later flush or scan)."""
        with self._life:
            observer, self._observer = self._observer, None
            if observer is not None:  # first, so nothing is noted after the last flush
                observer.stop()
                observer.join()
            self._stopping.set()
            with self._cond:
                self._cond.notify_all()
            thread, self._thread = self._thread, None
            if thread is not None:
                thread.join()  # after the flush it may be in
            if flush and not self.cancel.is_set() and self.pending():
                try:
                    self.flush()
                except Exception:  # stopping must not fail; what was not recorded stays noted
                    log.exception("watch: could not record the last file changes")

    def __enter__(self) -> Watcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- intake (observer thread) ---------------------------------------------------------------
    def note(self, event: FileSystemEvent) -> None:
        """Record one file-system event for the next flush (cheap; takes a lock)."""
        src = os.fsencode(event.src_path)
        dest = os.fsencode(event.dest_path) if event.dest_path else b""
        if self._excluded(src) and (not dest or self._excluded(dest)):
            return  # our own thumbnails, when the library lies inside a root
        with self._cond:
            noted = self._noted
            if isinstance(event, (FileMovedEvent, DirMovedEvent)):
                if event.is_directory or is_image_name(os.path.basename(src)) or is_image_name(
                    os.path.basename(dest)
                ):
                    noted.moves.append((src, dest, event.is_directory))
                else:
                    return
            elif event.is_directory:
                if isinstance(event, (DirCreatedEvent, DirDeletedEvent)):
                    noted.dirs[src] = None
            elif is_image_name(os.path.basename(src)):
                noted.paths[src] = None
            else:
                return
            now = time.monotonic()
            if self._first_event is None:
                self._first_event = now
            self._last_event = now
            self._cond.notify_all()

    def pending(self) -> int:
        """How many paths, folders and renames are waiting for a flush."""
        with self._cond:
            return len(self._noted)

    # -- flushing ---------------------------------------------------------------------------------
    def _halted(self) -> bool:
        return self._stopping.is_set() or self.cancel.is_set()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._halted():
                    if self._first_event is None:
                        self._cond.wait(1.0)
                        continue
                    now = time.monotonic()
                    due = min(self._last_event + self._quiet, self._first_event + self._max_delay)
                    due = max(due, self._retry_at)
                    if now >= due:
                        break
                    self._cond.wait(due - now)
                if self._halted():
                    return  # stop() flushes what is left
            try:
                self.flush()
            except Exception:  # a failing flush must not kill the watcher; it is retried
                log.exception("watch: could not record file changes")
                self._retry_at = time.monotonic() + self._max_delay

    def _excluded(self, path: bytes) -> bool:
        return any(path.startswith(d) for d in self._exclude)

    def _locate(self, path: bytes) -> _Where | None:
        if self._excluded(path):
            return None
        for root_id, root in self._roots:
            if path == root:
                return _Where(root_id, root, b"")
            if path.startswith(root + SEP):
                return _Where(root_id, root, path[len(root) + len(SEP):])
        return None

    def flush(self) -> ScanSummary:
        """Apply everything noted so far, now, on the calling thread; returns what changed."""
        with self._flush_lock:
            with self._cond:
                noted, self._noted = self._noted, _Noted()
                self._first_event = None
            started = time.monotonic()
            summary = ScanSummary()
            if not noted:
                return summary
            try:
                self._apply(noted, summary)
            except BaseException:
                self._renote(noted)
                raise
            if self.cancel.is_set():
                self._renote(noted)  # some may not be recorded; applying them again is harmless
            summary.seconds = time.monotonic() - started
        if summary.image_ids and self._on_new_images is not None:
            try:
                self._on_new_images(summary.image_ids)
            except Exception:
                log.exception("watch: on_new_images failed")
        if self._on_flush is not None:
            try:
                self._on_flush(summary)
            except Exception:
                log.exception("watch: on_flush failed")
        return summary

    def _renote(self, noted: _Noted) -> None:
        """Put back what a flush took but may not have recorded, before anything newer."""
        with self._cond:
            newer = self._noted
            noted.paths.update(newer.paths)
            noted.dirs.update(newer.dirs)
            noted.moves.extend(newer.moves)
            for _src, dest, is_dir in noted.moves:  # moves already applied: check where to
                (noted.dirs if is_dir else noted.paths)[dest] = None
            self._noted = noted
            if self._first_event is None:
                self._first_event = time.monotonic()
            self._cond.notify_all()

    def _apply(self, noted: _Noted, summary: ScanSummary) -> None:
        """Turn what was noted into library changes (see the module's docstring)."""
        check: dict[tuple[int, bytes], _Where] = {}
        folders = [w for w in map(self._locate, noted.dirs) if w is not None]
        moved: set[tuple[int, bytes]] = set()
        if noted.moves:
            to_check, moved_to, moved_in = self._lib.write(
                lambda s: self._apply_moves(s, noted.moves)
            )
            moved = {w.key for w in moved_to}
            summary.moved = len(moved_to)
            check.update((w.key, w) for w in [*to_check, *moved_to])
            folders.extend(moved_in)
        for path in noted.paths:
            where = self._locate(path)
            if where is not None and where.rel:
                check[where.key] = where
        for folder in folders:
            check.update((w.key, w) for w in self._under(folder))
        self._reconcile(list(check.values()), summary, moved)

    def _apply_moves(
        self, session: Session, moves: list[tuple[bytes, bytes, bool]]
    ) -> tuple[list[_Where], list[_Where], list[_Where]]:
        """Renames, in the order they happened (on the writer thread).

        Returns (paths to compare, where files were moved to, folders moved in from outside
        every root). Moved files are compared with the disk too, as any path an event named."""
        moved: list[_Where] = []
        to_check: list[_Where] = []
        moved_in: list[_Where] = []
        conn = session.connection()
        for src_path, dest_path, is_dir in moves:
            src, dest = self._locate(src_path), self._locate(dest_path)
            if is_dir:
                known = [] if src is None else sorted(files.known_under(conn, *src.key))
                if src is None or dest is None or not src.rel or not dest.rel:
                    # Moved in from outside, out of every root, or a root itself moved:
                    # compare both sides with the disk.
                    if src is not None:
                        to_check.extend(_Where(src.root_id, src.root, rel) for rel in known)
                    if dest is not None:
                        moved_in.append(dest)
                    continue
                for rel in known:
                    old = _Where(src.root_id, src.root, rel)
                    new = _Where(dest.root_id, dest.root, dest.rel + rel[len(src.rel):])
                    if files.move_file(session, old.key, new.key) is not None:
                        moved.append(new)
                continue
            if (
                src is not None and src.rel and dest is not None and dest.rel
                and is_image_name(os.path.basename(dest_path))
                and files.move_file(session, src.key, dest.key) is not None
            ):
                moved.append(dest)
                continue
            to_check.extend(w for w in (src, dest) if w is not None and w.rel)
        return to_check, moved, moved_in

    def _under(self, folder: _Where) -> list[_Where]:
        """Every file the library knows under a folder, and every image file now in it."""
        with self._lib.read() as s:
            known = files.known_under(s.connection(), folder.root_id, folder.rel)
        found = [_Where(folder.root_id, folder.root, rel) for rel in known]
        abs_dir = folder.root + SEP + folder.rel if folder.rel else folder.root
        if os.path.isdir(abs_dir):
            prefix = folder.rel + SEP if folder.rel else b""
            for entry in walk_images(abs_dir, exclude=self._exclude_dirs):
                found.append(_Where(folder.root_id, folder.root, prefix + entry.relpath_raw))
        return found

    def _reconcile(
        self, paths: list[_Where], summary: ScanSummary, moved: set[tuple[int, bytes]]
    ) -> None:
        """Compare paths with the disk and the library; record the differences. Paths in
        ``moved`` were counted as moves already."""
        if not paths:
            return
        by_root: dict[int, list[bytes]] = {}
        for w in paths:
            by_root.setdefault(w.root_id, []).append(w.rel)
        known: dict[tuple[int, bytes], files.KnownFile] = {}
        with self._lib.read() as s:
            for root_id, rels in by_root.items():
                found = files.known_at(s.connection(), root_id, sorted(set(rels)))
                known.update(((root_id, rel), row) for rel, row in found.items())
        missing: list[int] = []
        restore: list[int] = []
        work: list[Pending] = []
        for w in sorted(paths, key=lambda w: w.key):
            k = known.get(w.key)
            try:
                st = os.stat(w.root + SEP + w.rel)
                present = stat.S_ISREG(st.st_mode) and is_image_name(os.path.basename(w.rel))
            except OSError:
                present = False
            if not present:
                if k is not None and k.status != "missing":
                    missing.append(k.id)
                continue
            if (
                k is not None and k.size == st.st_size and k.mtime_ns == st.st_mtime_ns
                and k.image_id is not None and k.status != "error"
            ):
                if k.status == "missing":
                    restore.append(k.id)
                elif w.key not in moved:
                    summary.unchanged += 1
                continue
            work.append(Pending(w.root_id, w.root, Listed(w.rel, st.st_size, st.st_mtime_ns), k))
        if missing or restore:
            mark_seen(self._lib, missing, restore)
        summary.missing += len(missing)
        summary.restored += len(restore)
        totals = run_to_end(
            self._index(self._lib, work, self.cancel, workers=self._workers,
                        max_pixels=self._max_pixels, stage="watching")
        )
        summary.absorb(totals, missing)
