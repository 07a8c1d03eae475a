"""The few-shot head follows every label change at once: after a label write lands, one rerun
of the head (closed form, no training) is queued on the window's write lane, behind the write.

Requests made while a rerun is queued or running are coalesced into one more rerun after it,
so a burst of decisions costs at most two reruns and the last one always sees every label.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from animesion_desktop.core.library import Library
from animesion_desktop.core.similar.live import refresh_fewshot
from animesion_desktop.ui.lanes import OrderedLane


class FewshotFollower(QObject):
    updated = Signal(object)  # suggestions made (int), or None: no pack has embeddings
    failed = Signal(str)

    def __init__(self, lib: Library, writes: OrderedLane, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib, self._writes = lib, writes
        self._busy = False  # a rerun is queued or running
        self._again = False  # labels changed after it was queued
        self.runs = 0

    def request(self) -> None:
        if self._busy:
            self._again = True
            return
        self._start()

    def _start(self) -> None:
        self._busy, self._again = True, False
        lib = self._lib
        self._writes.run(lambda: refresh_fewshot(lib), self._done, self._failed)

    def _done(self, made: int | None) -> None:
        self.runs += 1
        self._busy = False
        self.updated.emit(made)
        if self._again:
            self._start()

    def _failed(self, message: str) -> None:
        self._busy = False
        self.failed.emit(f"few-shot head: {message}")
        if self._again:
            self._start()
