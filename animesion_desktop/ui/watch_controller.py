"""Runs the core Watcher while the app is open, so the grid follows the user's folders.

The watcher calls back on its own thread; this object re-emits those calls as Qt signals, which
reach the GUI thread queued. Starting and stopping (a database read, an inotify set-up) run on
the task pool, never on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import ScanSummary, Watcher
from animesion_desktop.ui.workers import TaskRunner


class WatchController(QObject):
    changed = Signal(str)  # a summary line of what the watcher applied
    new_images = Signal(list)  # ids of images that appeared: to be tagged
    failed = Signal(str)

    def __init__(self, lib: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self._watcher: Watcher | None = None
        self._tasks = TaskRunner(parent=self)

    def restart(self) -> None:
        """(Re)start on the library's current roots; after a folder is added, for instance."""
        old, lib = self._watcher, self._lib

        def start() -> Watcher | None:
            if old is not None:
                old.stop()
            if not lib.roots():
                return None
            return Watcher(lib, on_new_images=self.new_images.emit,
                           on_flush=self._flushed).start()

        def started(watcher: Watcher | None) -> None:
            self._watcher = watcher

        self._tasks.run(start, started, self.failed.emit)

    def _flushed(self, summary: ScanSummary) -> None:
        self.changed.emit(summary.line())

    def stop(self) -> None:
        """Blocking but short: called when the window closes."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
