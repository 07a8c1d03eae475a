"""Review decisions go through one ordered write lane and onto an undo stack.

The lane has one thread, so writes and their undos run in the order the user acted: an undo
submitted right after its decision always finds the decision's changes recorded. The window
hands the page its write lane (``Lanes.writes``) and the labels' QUndoStack, so review decisions
and grid edits share one history; ``OrderedWrites`` is the stand-alone fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand

from animesion_desktop.core.library import Library
from animesion_desktop.core.library.library import LabelChange
from animesion_desktop.ui.lanes import OrderedLane


class WriteLane(Protocol):
    def run(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = ...,
            on_error: Callable[[str], None] | None = ...) -> None: ...


class OrderedWrites(OrderedLane):
    """A write lane of the page's own, for a page used without the window's lanes."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__("writes", parent)


Changes = list[LabelChange]


class LabelsCommand(QUndoCommand):
    """One undo step of label writes: ``apply`` on redo, the exact previous labels on undo.

    Both run on the lane; ``on_applied`` / ``on_undone`` get the changes on the GUI thread.
    """

    def __init__(self, lib: Library, lane: WriteLane, text: str, apply: Callable[[], Changes],
                 on_applied: Callable[[Changes], None], on_undone: Callable[[Changes], None],
                 on_failed: Callable[[str], None]) -> None:
        super().__init__(text)
        self._lib, self._lane, self._apply = lib, lane, apply
        self._on_applied, self._on_undone, self._on_failed = on_applied, on_undone, on_failed
        self._changes: Changes = []  # read and written on the lane's thread only

    def redo(self) -> None:
        def do() -> Changes:
            self._changes = self._apply()
            return self._changes

        self._lane.run(do, self._on_applied, self._on_failed)

    def undo(self) -> None:
        def do() -> Changes:
            changes = self._changes
            self._lib.undo(changes)
            return changes

        self._lane.run(do, self._on_undone, self._on_failed)


class WriteCommand(QUndoCommand):
    """One undo step of any write: ``apply()`` on redo (its result is kept), ``revert(result)``
    on undo; both on the lane, with ``on_done(result)`` on the GUI thread after each."""

    def __init__(self, lane: WriteLane, text: str, apply: Callable[[], Any],
                 revert: Callable[[Any], None], on_done: Callable[[Any], None],
                 on_failed: Callable[[str], None]) -> None:
        super().__init__(text)
        self._lane, self._apply, self._revert = lane, apply, revert
        self._on_done, self._on_failed = on_done, on_failed
        self._result: Any = None  # read and written on the lane's thread only

    def redo(self) -> None:
        def do() -> Any:
            self._result = self._apply()
            return self._result

        self._lane.run(do, self._on_done, self._on_failed)

    def undo(self) -> None:
        def do() -> Any:
            self._revert(self._result)
            return self._result

        self._lane.run(do, self._on_done, self._on_failed)
