"""Queues the long core jobs (scan, tag) on the job lane and reports their outcomes.

A job asked for while another runs waits in the queue (shown in the status bar); nothing is
dropped. Whether a job was the user's is a property of the job itself, so a background job's
failure is a status line, never a dialog for something the user did not start.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from animesion_desktop.core.library import Library
from animesion_desktop.ui.lanes import JobLane, QueuedJob

TAG_ARRIVALS = "Tag new arrivals"


def _summary_text(job: QueuedJob, summary: object) -> str:
    line = getattr(summary, "line", None)
    if callable(line):
        return str(line())
    lines = getattr(summary, "lines", None)  # export / import summaries
    if callable(lines):
        return str(next(iter(lines()), job.title))
    return f"{job.title}: done"


class JobsController(QObject):
    finished = Signal(str)  # one-line summary
    failed = Signal(str)  # a job the user asked for failed: worth a dialog
    noted = Signal(str)  # a background job (tagging new arrivals) failed: a status line

    def __init__(self, lib: Library, lane: JobLane, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self.lane = lane
        lane.finished.connect(lambda job, summary: self.finished.emit(_summary_text(job, summary)))
        lane.failed.connect(self._failed)

    def _queue(self, job: QueuedJob) -> None:
        if not self.lane.has_queued(job.title):  # the same job waiting already covers it
            self.lane.submit(job)

    def _failed(self, job: QueuedJob, message: str) -> None:
        # A job started from a dialog (export, import, train) shows its failure there.
        quiet = job.background or getattr(job, "shown_in_dialog", False)
        (self.noted if quiet else self.failed).emit(f"{job.title}: {message}")

    def tag_arrivals(self) -> None:
        """New images appeared while watching: tag them with the active packs, quietly."""
        lib = self._lib

        def make(cancel: threading.Event):
            from animesion_desktop.core.tagging import tag_images

            return tag_images(lib, None, cancel)

        self._queue(QueuedJob(TAG_ARRIVALS, make, background=True))

    def scan_folder(self, folder: str) -> None:
        """Add a folder: one pass (read, hash, thumbnail and, with packs active, tag each new
        file from a single decode), as ``animesion scan --tag``."""
        lib = self._lib

        def make(cancel: threading.Event):
            lib.add_root(folder)
            return self._one_pass(lib, [Path(folder)], cancel)

        self._queue(QueuedJob(f"Add folder {folder}", make))

    def scan_all(self) -> None:
        lib = self._lib

        def make(cancel: threading.Event):
            return self._one_pass(lib, [r.path for r in lib.roots()], cancel)

        self._queue(QueuedJob("Rescan", make))

    @staticmethod
    def _one_pass(lib: Library, roots: list[Path], cancel: threading.Event):
        from animesion_desktop.core.indexing import index_and_tag

        return index_and_tag(lib, roots, cancel)

    def tag_new(self) -> None:
        lib = self._lib

        def make(cancel: threading.Event):
            from animesion_desktop.core.tagging import tag_images

            return tag_images(lib, None, cancel)

        self._queue(QueuedJob("Tag new images", make))
