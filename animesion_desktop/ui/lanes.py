"""The one place where the UI meets threads: a read lane, an ordered write lane, a job lane.

- ``ReadLane``: searches, the inspector, thumbnails, completions, on a pool of several threads.
  A request of a *kind* gets a token; when its answer arrives and a newer request of that kind
  was made meanwhile, the answer is dropped, so only the newest request is ever shown.
- ``OrderedLane``: one thread, first in first out. Label writes and undo/redo run on it in the
  order the user acted, and so do their callbacks (one sender thread, queued in order).
- ``JobLane``: long core jobs (generators yielding ``Progress``) one at a time from a queue, on
  their own pool, at background priority; the queue is public so the status bar can show it.

No lane uses Qt's global thread pool, so a long job never holds up a search and the
niceness a job sets on its thread never leaks into an interactive task. Results, progress and
errors come back to the GUI thread through queued signals; nothing here touches a widget from a
worker thread.
"""

from __future__ import annotations

import threading
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.priority import background_thread_priority

Done = Callable[[Any], None]
Failed = Callable[[str], None]


def describe(exc: BaseException) -> str:
    """One line for the user: clear errors keep their message, others their type name too."""
    from animesion_desktop.core.errors import UserError

    if isinstance(exc, (UserError, ValueError, OSError)):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class _Signals(QObject):
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)


class _Runnable(QRunnable):
    def __init__(self, body: Callable[[], None]) -> None:
        super().__init__()
        self._body = body

    def run(self) -> None:
        self._body()


class _Reply(QObject):
    """Lives on the GUI thread, so a worker's signals reach it queued."""

    def __init__(self, lane: _Lane, on_done: Done | None, on_error: Failed | None,
                 keep: Callable[[], bool]) -> None:
        super().__init__(lane)
        self._lane, self._on_done, self._on_error, self._keep = lane, on_done, on_error, keep

    @Slot(object)
    def done(self, result: object) -> None:
        self._finish(self._on_done, result)

    @Slot(str)
    def error(self, message: str) -> None:
        self._finish(self._on_error, message)

    def _finish(self, callback: Callable[[Any], None] | None, value: object) -> None:
        self.deleteLater()
        try:
            if callback is not None and self._keep():
                callback(value)
        finally:
            # Counted down after the callback, which may itself ask for more: "idle" then means
            # that nothing asked for is still on its way.
            self._lane._landed()


class _Lane(QObject):
    """A pool plus a count of requests whose answers have not been handled yet."""

    idle = Signal()

    def __init__(self, threads: int, name: str, parent: QObject | None = None,
                 pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(threads)
            pool.setObjectName(name)
        self.pool = pool
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    def _landed(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.idle.emit()

    def _submit(self, fn: Callable[[], Any], on_done: Done | None, on_error: Failed | None,
                keep: Callable[[], bool], priority: int = 0) -> None:
        reply = _Reply(self, on_done, on_error, keep)
        signals = _Signals(reply)  # parented: lives exactly as long as the reply
        signals.finished.connect(reply.done)
        signals.failed.connect(reply.error)

        def body() -> None:
            try:
                result = fn()
            except BaseException as exc:  # reported on the GUI thread, never lost in a thread
                signals.failed.emit(describe(exc))
            else:
                signals.finished.emit(result)

        self._pending += 1
        self.pool.start(_Runnable(body), priority)

    def wait(self, msecs: int = 10_000) -> bool:
        """For closing the window: let started work finish (the callbacks are not run)."""
        return self.pool.waitForDone(msecs)


class ReadLane(_Lane):
    """Reads on several threads; per kind, only the newest request's answer is delivered."""

    def __init__(self, threads: int = 4, parent: QObject | None = None) -> None:
        super().__init__(threads, "reads", parent)
        self._tokens = 0
        self._newest: dict[str, int] = {}

    def run(self, kind: str | None, fn: Callable[[], Any], on_done: Done | None = None,
            on_error: Failed | None = None, priority: int = 0) -> int:
        """``kind=None``: every answer counts (row batches, thumbnails). Returns the token."""
        self._tokens += 1
        token = self._tokens
        if kind is None:
            self._submit(fn, on_done, on_error, lambda: True, priority)
            return token
        self._newest[kind] = token
        self._submit(fn, on_done, on_error, lambda: self._newest.get(kind) == token, priority)
        return token

    def newest(self, kind: str) -> int | None:
        return self._newest.get(kind)


class OrderedLane(_Lane):
    """One thread, first in first out: work and callbacks happen in the order submitted."""

    def __init__(self, name: str = "writes", parent: QObject | None = None) -> None:
        super().__init__(1, name, parent)

    def run(self, fn: Callable[[], Any], on_done: Done | None = None,
            on_error: Failed | None = None) -> None:
        # One priority for everything: QThreadPool then keeps submission order.
        self._submit(fn, on_done, on_error, lambda: True)


_shared_pool: QThreadPool | None = None


def _reads_pool() -> QThreadPool:
    """For widgets not yet handed the window's lanes: a read pool of the app's own."""
    global _shared_pool
    if _shared_pool is None:
        from PySide6.QtCore import QCoreApplication

        _shared_pool = QThreadPool(QCoreApplication.instance())
        _shared_pool.setMaxThreadCount(4)
        _shared_pool.setObjectName("shared reads")
    return _shared_pool


class TaskRunner(_Lane):
    """Runs short functions on a pool (its own one, or a shared read pool, never Qt's global
    one) and calls back on the GUI thread (Picard's run_task). Prefer the window's lanes."""

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(0, "tasks", parent, pool or _reads_pool())

    def run(self, fn: Callable[[], Any], on_done: Done | None = None,
            on_error: Failed | None = None) -> None:
        self._submit(fn, on_done, on_error, lambda: True)


@dataclass
class QueuedJob:
    title: str  # what the status bar shows, e.g. "Add folder /pics"
    make: Callable[[threading.Event], Job[Any]]
    background: bool = False  # started by the app (tagging arrivals), not by the user
    cancel: threading.Event = field(default_factory=threading.Event)


class JobLane(QObject):
    """Runs queued core jobs one after the other at background priority."""

    progress = Signal(object)  # Progress
    finished = Signal(object, object)  # the QueuedJob, its summary
    failed = Signal(object, str)  # the QueuedJob, a one-line message
    queue_changed = Signal()  # running or queued jobs changed
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.pool.setObjectName("jobs")
        self._queue: deque[QueuedJob] = deque()
        self._running: QueuedJob | None = None
        self._signals: _Signals | None = None

    @property
    def busy(self) -> bool:
        return self._running is not None

    @property
    def running(self) -> QueuedJob | None:
        return self._running

    @property
    def queued(self) -> list[QueuedJob]:
        return list(self._queue)

    def submit(self, job: QueuedJob) -> None:
        self._queue.append(job)
        self.queue_changed.emit()
        self._next()

    def has_queued(self, title: str) -> bool:
        return any(j.title == title for j in self._queue)

    def cancel(self) -> None:
        """Stop the running job at its next safe point; queued ones still run."""
        if self._running is not None:
            self._running.cancel.set()

    def cancel_all(self) -> None:
        self._queue.clear()
        self.cancel()
        self.queue_changed.emit()

    def _next(self) -> None:
        if self._running is not None or not self._queue:
            return
        job = self._queue.popleft()
        signals = _Signals()
        signals.progress.connect(self.progress)
        signals.finished.connect(self._on_finished)
        signals.failed.connect(self._on_failed)
        self._running, self._signals = job, signals

        def body() -> None:
            # Set absolutely, so the pooled thread does not get nicer job after job; this pool
            # runs only jobs, so the niceness never reaches a search or a label write.
            background_thread_priority()
            try:
                gen = job.make(job.cancel)
                while True:
                    try:
                        item: Progress = next(gen)
                    except StopIteration as stop:
                        signals.finished.emit(stop.value)
                        return
                    signals.progress.emit(item)
            except BaseException as exc:  # reported to the GUI, never lost in a thread
                signals.failed.emit(describe(exc))

        self.busy_changed.emit(True)
        self.queue_changed.emit()
        self.pool.start(_Runnable(body))

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        job = self._done()
        self.finished.emit(job, result)
        self._continue()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        job = self._done()
        self.failed.emit(job, message)
        self._continue()

    def _done(self) -> QueuedJob:
        job = self._running
        assert job is not None
        self._running, self._signals = None, None
        return job

    def _continue(self) -> None:
        self._next()
        if self._running is None:
            self.busy_changed.emit(False)
            self.queue_changed.emit()


class Lanes(QObject):
    """The window's three lanes, plus a small ordered one for starting and stopping the
    watcher (an inotify set-up can take a while and must not hold up label writes)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.reads = ReadLane(4, self)
        self.writes = OrderedLane("writes", self)
        self.jobs = JobLane(self)
        self.watch = OrderedLane("watch", self)

    def idle(self) -> bool:
        """Nothing asked for is still on its way (tests wait for this; no sleeping)."""
        return (self.reads.pending == 0 and self.writes.pending == 0
                and self.watch.pending == 0 and not self.jobs.busy)

    def shut_down(self, msecs: int = 10_000) -> None:
        self.jobs.cancel_all()
        for pool in (self.jobs.pool, self.writes.pool, self.watch.pool, self.reads.pool):
            pool.waitForDone(msecs)
