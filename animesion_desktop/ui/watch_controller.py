"""Runs the core Watcher while the app is open, so the grid follows the user's folders.

The watcher calls back on its own thread; this object re-emits those calls as Qt signals, which
reach the GUI thread queued. Starting and stopping (a database read, an inotify set-up) run in
order on a lane of their own, never on the GUI thread, so two quick restarts cannot orphan a
watcher. ``sync()`` restarts only when the set of roots changed: a restart after every job
would drop what the watcher had noted meanwhile. Arrivals are indexed by the one-pass job's
``index_new_files``: with packs active each new file is read, decoded, thumbnailed, hashed and
tagged once, on the watcher's thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import ScanSummary, Watcher
from animesion_desktop.ui.lanes import OrderedLane


class WatchController(QObject):
    changed = Signal(str)  # a summary line of what the watcher applied
    new_images = Signal(list)  # ids of images that appeared and are still to be tagged
    failed = Signal(str)
    restarted = Signal()

    def __init__(self, lib: Library, lane: OrderedLane, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self._lane = lane
        # Both only touched on the lane's thread.
        self._watcher: Watcher | None = None
        self._roots: frozenset[str] | None = None
        self.restarts = 0  # how many watchers were started (shown in tests)

    @property
    def watcher(self) -> Watcher | None:
        return self._watcher

    def sync(self) -> None:
        """Start the watcher, or restart it if the library's roots changed since it started."""
        self._lane.run(self._sync, self._synced, self.failed.emit)

    def _sync(self) -> bool:
        roots = frozenset(str(r.path) for r in self._lib.roots())
        if roots == self._roots:
            return False
        self._stop()
        self._roots = roots
        if roots:
            from animesion_desktop.core.indexing import index_new_files

            self._watcher = Watcher(self._lib, on_new_images=self._arrived,
                                    on_flush=self._flushed, index=index_new_files).start()
            self.restarts += 1
        return True

    def _synced(self, restarted: bool) -> None:
        if restarted:
            self.restarted.emit()

    def _arrived(self, image_ids: list[int]) -> None:
        """On the watcher's thread: only what the one pass could not tag goes on to a job."""
        from animesion_desktop.core.indexing import still_untagged

        left = still_untagged(self._lib, image_ids)
        if left:
            self.new_images.emit(left)

    def _flushed(self, summary: ScanSummary) -> None:
        self.changed.emit(summary.line())

    def _stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def stop(self) -> None:
        """When the window closes: queued behind any start, then waited for (short)."""
        self._lane.run(self._stop_for_good)
        self._lane.wait()

    def _stop_for_good(self) -> None:
        self._stop()
        self._roots = None
