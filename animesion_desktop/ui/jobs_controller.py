"""Starts the long core jobs (scan, tag) on the job runner and reports their summaries."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from animesion_desktop.core.library import Library
from animesion_desktop.ui.workers import JobRunner


def _summary_text(summary: object) -> str:
    line = getattr(summary, "line", None)
    return line() if callable(line) else str(summary)


class JobsController(QObject):
    finished = Signal(str)  # one-line summary
    failed = Signal(str)  # a job the user asked for failed: worth a dialog
    noted = Signal(str)  # a background job (tagging new arrivals) failed: a status line

    def __init__(self, lib: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self._background = False
        self._tag_pending = False
        self.runner = JobRunner(parent=self)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)

    def _finished(self, summary: object) -> None:
        self.finished.emit(_summary_text(summary))
        self._next()

    def _failed(self, message: str) -> None:
        (self.noted if self._background else self.failed).emit(message)
        self._next()

    def _next(self) -> None:
        if self._tag_pending:
            self._tag_pending = False
            self.tag_arrivals()

    def _start(self, make_job, background: bool = False) -> None:
        self._background = background
        if not self.runner.start(make_job):
            self.failed.emit("Another job is running; wait for it or cancel it first.")

    def tag_arrivals(self) -> None:
        """New images appeared while watching: tag them with the active packs, quietly."""
        if self.runner.busy:
            self._tag_pending = True  # run once the current job ends
            return
        lib = self._lib

        def make(cancel: threading.Event):
            from animesion_desktop.core.tagging import tag_images

            return tag_images(lib, None, cancel)

        self._background = True
        self.runner.start(make)

    def scan_folder(self, folder: str) -> None:
        lib = self._lib

        def make(cancel: threading.Event):
            from animesion_desktop.core.scan import scan_roots

            lib.add_root(folder)
            return scan_roots(lib, [Path(folder)], cancel)

        self._start(make)

    def scan_all(self) -> None:
        lib = self._lib

        def make(cancel: threading.Event):
            from animesion_desktop.core.scan import scan_roots

            return scan_roots(lib, [r.path for r in lib.roots()], cancel)

        self._start(make)

    def tag_new(self) -> None:
        lib = self._lib

        def make(cancel: threading.Event):
            from animesion_desktop.core.tagging import tag_images

            return tag_images(lib, None, cancel)

        self._start(make)
