"""The one place where core work meets Qt threads.

``JobRunner`` drives a core job (a generator yielding ``Progress``) on the thread pool and hands
progress, the result and errors back to the GUI thread through queued signals. ``run_task`` does
the same for a plain function (a read or a single write). Nothing here touches widgets from a
worker thread.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.priority import background_thread_priority


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


def _describe(exc: BaseException) -> str:
    # User-facing errors carry their own clear message; anything else keeps its type name.
    from animesion_desktop.core.library import LibraryError

    if isinstance(exc, (LibraryError, ValueError, OSError)):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class JobRunner(QObject):
    """Runs one core job at a time; ``cancel()`` asks it to stop at its next safe point."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # the job's summary
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._cancel: threading.Event | None = None
        self._signals: _Signals | None = None

    @property
    def busy(self) -> bool:
        return self._cancel is not None

    def start(self, make_job: Callable[[threading.Event], Job[Any]]) -> bool:
        if self.busy:
            return False
        cancel = threading.Event()
        signals = _Signals()
        signals.progress.connect(self.progress)
        signals.finished.connect(self._on_finished)
        signals.failed.connect(self._on_failed)
        self._cancel, self._signals = cancel, signals

        def body() -> None:
            # Scans and tagging runs (and the threads they start) give way to the GUI thread.
            background_thread_priority()
            try:
                job = make_job(cancel)
                while True:
                    try:
                        item: Progress = next(job)
                    except StopIteration as stop:
                        signals.finished.emit(stop.value)
                        return
                    signals.progress.emit(item)
            except BaseException as exc:  # reported to the GUI, never lost in a thread
                signals.failed.emit(_describe(exc))

        self.busy_changed.emit(True)
        self._pool.start(_Runnable(body))
        return True

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self._done()
        self.finished.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._done()
        self.failed.emit(message)

    def _done(self) -> None:
        self._cancel, self._signals = None, None
        self.busy_changed.emit(False)


class _Callback(QObject):
    """Lives on the GUI thread, so signals emitted by workers reach it queued."""

    def __init__(self, owner: TaskRunner, on_done: Any, on_error: Any) -> None:
        super().__init__(owner)
        self._on_done, self._on_error = on_done, on_error

    @Slot(object)
    def done(self, result: object) -> None:
        self.deleteLater()
        if self._on_done is not None:
            self._on_done(result)

    @Slot(str)
    def error(self, message: str) -> None:
        self.deleteLater()
        if self._on_error is not None:
            self._on_error(message)


class TaskRunner(QObject):
    """Runs short functions off the GUI thread and calls back on it (Picard's run_task)."""

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        callback = _Callback(self, on_done, on_error)
        signals = _Signals(callback)  # parented: lives exactly as long as the callback
        signals.finished.connect(callback.done)
        signals.failed.connect(callback.error)

        def body() -> None:
            try:
                result = fn()
            except BaseException as exc:
                signals.failed.emit(_describe(exc))
            else:
                signals.finished.emit(result)

        self._pool.start(_Runnable(body))
