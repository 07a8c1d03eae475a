"""Review decisions as undoable commands, applied in the order the user made them.

Every decision is a ``QUndoCommand`` on one ``QUndoStack``; its redo and undo do not touch the
database on the GUI thread but queue work on the ordered write lane. So Accept, Reject, Ctrl+Z,
Ctrl+Z reach the writer in exactly that order, and Ctrl+Z during an action still in flight
undoes that action once it has landed.

What is applied is tracked on the write lane's thread, the only place that knows: if an undo
fails, the work queued behind it is skipped and the stack is put back where the library is, so
the entry is still there to undo again.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from animesion_desktop.core.errors import TagError
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.library import LabelChange
from animesion_desktop.core.library.tags import parse_tag, tag_text
from animesion_desktop.ui.lanes import OrderedLane

_VERB = {"accepted": "Accept", "rejected": "Reject", "clear": "Reset"}


class LabelCommand(QUndoCommand):
    """One user decision: one tag state (or several tags) on a set of images, one undo step."""

    def __init__(self, owner: LabelController, image_ids: Sequence[int], tags: Sequence[str],
                 state: str) -> None:
        n = len(image_ids)
        super().__init__(f"{_VERB[state]} {' '.join(tags)} on {n} image{'s' if n != 1 else ''}")
        self._owner = owner
        self.image_ids = sorted(set(image_ids))
        self.tags = list(tags)
        self.state = state
        # Written and read on the write lane's thread only.
        self.applied = False
        self._changes: list[LabelChange] = []

    # Called by the stack on the GUI thread: queue the work, never do it here.
    def redo(self) -> None:
        if not self._owner.syncing:
            self._owner.submit(self, self._apply, self.text())

    def undo(self) -> None:
        if not self._owner.syncing:
            self._owner.submit(self, self._revert, f"Undid: {self.text()}")

    # On the write lane.
    def _apply(self, lib: Library) -> None:
        if self.applied:
            return  # its undo failed earlier: the library still has it
        changes: list[LabelChange] = []
        try:
            for tag in self.tags:
                if self.state == "clear":
                    changes += lib.clear_label(self.image_ids, tag)
                else:
                    changes += lib.set_label(self.image_ids, tag, self.state, source="user")
        except BaseException:
            lib.undo(list(reversed(changes)))  # a batch lands whole or not at all
            raise
        self._changes, self.applied = changes, True

    def _revert(self, lib: Library) -> None:
        if not self.applied:
            return
        # Newest first, so a tag given twice in one batch goes back to its first "before".
        lib.undo(list(reversed(self._changes)))
        self.applied = False


class LabelController(QObject):
    changed = Signal(list, str)  # image ids, description of what happened
    failed = Signal(str)

    def __init__(self, lib: Library, writes: OrderedLane, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self._writes = writes
        self.stack = QUndoStack(self)
        self.syncing = False
        self._halted = False  # lane thread only: a write failed, skip what was queued behind it

    def apply(self, image_ids: list[int], tags: Sequence[str] | str, state: str) -> None:
        tags = [tags] if isinstance(tags, str) else list(tags)
        if not image_ids or not tags:
            return
        try:
            # Checked here (no I/O), so a tag that is not one never becomes an undo entry.
            tags = list(dict.fromkeys(tag_text(*parse_tag(t)) for t in tags))
        except TagError as exc:
            self.failed.emit(str(exc))
            return
        self.stack.push(LabelCommand(self, image_ids, tags, state))

    def undo(self) -> None:
        self.stack.undo()

    def redo(self) -> None:
        self.stack.redo()

    def submit(self, command: LabelCommand, work, what: str) -> None:
        lib, ids = self._lib, command.image_ids

        def do() -> bool:
            if self._halted:
                return False  # queued behind a failed write: skipped, the stack is put back
            try:
                work(lib)
            except BaseException:
                self._halted = True
                raise
            return True

        def done(ran: bool) -> None:
            if ran:
                self.changed.emit(ids, what)

        self._writes.run(do, done, lambda message: self._on_failed(message, ids))

    def _on_failed(self, message: str, ids: list[int]) -> None:
        self.failed.emit(message)
        # Behind everything queued so far (all skipped): read what is applied, resume, resync.
        commands = [self.stack.command(i) for i in range(self.stack.count())]

        def resume() -> list[bool]:
            self._halted = False
            return [isinstance(c, LabelCommand) and c.applied for c in commands]

        self._writes.run(resume, lambda applied: self._resync(commands, applied, ids))

    def _resync(self, commands: list, applied: list[bool], ids: list[int]) -> None:
        index = 0
        while index < len(applied) and applied[index]:
            index += 1
        if [self.stack.command(i) for i in range(self.stack.count())] != commands:
            return  # the user acted meanwhile; that push already decided the stack
        self.syncing = True
        try:
            self.stack.setIndex(index)  # moves the index only: commands skip while syncing
        finally:
            self.syncing = False
        self.changed.emit(ids, "")
