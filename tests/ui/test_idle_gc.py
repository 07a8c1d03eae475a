"""Full collections wait for a still window, and do collect what piled up."""

from __future__ import annotations

import gc
import weakref

from PySide6.QtCore import QObject, Signal

from animesion_desktop.ui.idle_gc import IdleCollector


class _Activity(QObject):
    moved = Signal()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_full_collections_run_when_idle_and_free_cycles(qtbot) -> None:
    before = gc.get_threshold()
    owner = QObject()
    activity = _Activity()
    collector = IdleCollector([activity.moved], owner, idle_ms=50)
    try:
        assert gc.get_threshold()[2] > 10**6  # no automatic full collection any more
        cycle = _Cycle()
        gone = weakref.ref(cycle)
        gc.collect(1)  # let it reach the oldest generation, where only a full collection looks
        del cycle
        activity.moved.emit()  # activity restarts the wait
        qtbot.waitUntil(lambda: collector.collections >= 1, timeout=5000)
        assert gone() is None
    finally:
        owner.deleteLater()
        qtbot.waitUntil(lambda: gc.get_threshold() == before, timeout=5000)


def test_the_app_starts_the_idle_collector_after_the_first_page(qtbot, ui, lib) -> None:
    from animesion_desktop.ui.app import steady_gc

    before = gc.get_threshold()
    window = ui.open_window(qtbot, lib)
    steady_gc(window)
    try:
        assert isinstance(window.idle_gc, IdleCollector)
        window.grid.verticalScrollBar().setValue(0)
    finally:
        gc.set_threshold(*before)


def test_scrolling_to_the_top_does_not_collect_on_every_paint(qtbot, ui, lib) -> None:
    """A scroll bar's valueChanged(int) once reached QTimer.start(int): the value became the
    wait, so back at the top (value 0) every paint was followed at once by a full collection
    (160 ms each with 100,000 rows loaded: every query after a scroll paid for several)."""
    from animesion_desktop.ui.app import steady_gc
    from animesion_desktop.ui.idle_gc import IDLE_MS

    before = gc.get_threshold()
    window = ui.open_window(qtbot, lib)
    steady_gc(window)
    try:
        collector = window.idle_gc
        bar = window.grid.verticalScrollBar()
        bar.valueChanged.emit(0)  # what the bar sends when the user scrolls back to the top
        window.grid.viewport().repaint()
        assert collector._timer.interval() == IDLE_MS
        bar.valueChanged.emit(7)
        assert collector._timer.interval() == IDLE_MS
        assert collector._timer.isActive()
    finally:
        gc.set_threshold(*before)


def test_idle_collections_freeze_survivors_and_a_thorough_one_frees_them(qtbot,
                                                                         monkeypatch) -> None:
    """What survives an idle collection is frozen (later ones scan only what is new); a cycle
    frozen alive and dropped afterwards is still freed, by the periodic thorough collection."""
    from animesion_desktop.ui import idle_gc

    monkeypatch.setattr(idle_gc, "THOROUGH_EVERY", 2)
    before = gc.get_threshold()
    owner = QObject()
    activity = _Activity()
    collector = IdleCollector([activity.moved], owner, idle_ms=20)
    try:
        kept = _Cycle()
        gone = weakref.ref(kept)
        activity.moved.emit()
        qtbot.waitUntil(lambda: collector.collections == 1, timeout=5000)
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # frozen: out of a collection's reach
        del kept  # now garbage, but frozen: only a thorough collection can find it
        activity.moved.emit()
        qtbot.waitUntil(lambda: collector.collections == 2, timeout=5000)
        assert gone() is None
    finally:
        owner.deleteLater()
        qtbot.waitUntil(lambda: gc.get_threshold() == before, timeout=5000)


def test_no_collection_while_answers_are_on_their_way(qtbot) -> None:
    """Waiting for reads is not idle: their answers will paint (the sidebar's start-up reads
    took 1.5 s on 100,000 images, and a full collection then landed in the user's first scroll)."""
    before = gc.get_threshold()
    owner = QObject()
    busy = [True]
    collector = IdleCollector([], owner, idle_ms=10, busy=lambda: busy[0])
    try:
        qtbot.wait(100)  # ten idle spells, all while busy
        assert collector.collections == 0
        assert collector._timer.isActive()  # it looks again later
        busy[0] = False
        qtbot.waitUntil(lambda: collector.collections == 1, timeout=5000)
    finally:
        owner.deleteLater()
        qtbot.waitUntil(lambda: gc.get_threshold() == before, timeout=5000)
