"""Starts the long core jobs (scan, tag) on the job runner and reports their summaries."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from animesion_desktop.core.library import Library
from animesion_desktop.ui.workers import JobRunner


class JobsController(QObject):
    finished = Signal(str)  # one-line summary
    failed = Signal(str)

    def __init__(self, lib: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self.runner = JobRunner(parent=self)
        self.runner.finished.connect(lambda summary: self.finished.emit(str(summary)))
        self.runner.failed.connect(self.failed.emit)

    def _start(self, make_job) -> None:
        if not self.runner.start(make_job):
            self.failed.emit("Another job is running; wait for it or cancel it first.")

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
