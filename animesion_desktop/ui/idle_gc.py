"""Full garbage collections only while the window is idle.

CPython runs a full (generation 2) collection whenever enough long-lived objects piled up; with
a 100,000-row result loaded one costs the GUI thread about 100 ms, and it came in the middle of
a scroll (benchmarks/bench_gui.py saw 92-115 ms stalls). Here the automatic full collection is
switched off and run instead after the grid and the review canvas have been still for a while,
when a pause is invisible. Young generations still collect as usual (a few ms at most).

Even idle, a collection should be short: the user may start scrolling again in the middle of
it. Most tracked objects are long-lived (modules imported after start-up, the grid's caches:
about 170,000 after a long scroll, a 130 ms collection), so what survives an idle collection is
frozen and later ones scan only what came since. Objects frozen there that later die in a
reference cycle would never be freed, so every ``THOROUGH_EVERY``-th idle collection thaws
everything and scans it all once.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, SignalInstance

IDLE_MS = 1500
THOROUGH_EVERY = 20
_NEVER = 1 << 30  # threshold2: full collections are this collector's job


class IdleCollector(QObject):
    def __init__(self, activity: list[SignalInstance], parent: QObject,
                 idle_ms: int = IDLE_MS, busy: Callable[[], bool] = lambda: False) -> None:
        """``busy``: work is on its way (answers will land and paint): not idle yet."""
        super().__init__(parent)
        self._busy = busy
        # Start-up's objects are moved out of every collection's reach: they live as long as
        # the window, and a full collection then scans only what came after.
        gc.freeze()
        first, second, third = gc.get_threshold()
        gc.set_threshold(first, second, _NEVER)
        parent.destroyed.connect(lambda *_: gc.set_threshold(first, second, third))
        self.collections = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(idle_ms)
        self._timer.timeout.connect(self._collect)
        for signal in activity:
            # (Re)start: collect only after a still spell. Never connect ``start`` itself: a
            # signal's argument (a scroll bar's value) would become the interval, and at value 0
            # every paint was followed by a full collection.
            signal.connect(self._restart)
        self._timer.start()

    def _restart(self, *_args: object) -> None:
        self._timer.start()

    def _collect(self) -> None:
        if self._busy():
            self._timer.start()
            return
        self.collections += 1
        if self.collections % THOROUGH_EVERY == 0:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
