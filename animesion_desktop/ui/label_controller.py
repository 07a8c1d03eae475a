"""Applies review decisions through the library's writer and keeps them undoable."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from animesion_desktop.core.library import Library
from animesion_desktop.core.library.library import LabelChange
from animesion_desktop.ui.workers import TaskRunner


class LabelController(QObject):
    changed = Signal(list, str)  # image ids, description of what happened
    failed = Signal(str)
    can_undo_changed = Signal(bool)

    def __init__(self, lib: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self._tasks = TaskRunner(parent=self)
        self._undo: list[tuple[str, list[LabelChange]]] = []

    def apply(self, image_ids: list[int], tag: str, state: str) -> None:
        if not image_ids:
            return
        lib = self._lib
        n = len(image_ids)

        def do() -> list[LabelChange]:
            if state == "clear":
                return lib.clear_label(image_ids, tag)
            return lib.set_label(image_ids, tag, state, source="user")

        verb = {"accepted": "Accepted", "rejected": "Rejected", "clear": "Reset"}[state]
        what = f"{verb} {tag} on {n} image{'s' if n != 1 else ''}"

        def done(changes: list[LabelChange]) -> None:
            self._undo.append((what, changes))
            self.can_undo_changed.emit(True)
            self.changed.emit(image_ids, what)

        self._tasks.run(do, done, self.failed.emit)

    def undo(self) -> None:
        if not self._undo:
            return
        what, changes = self._undo.pop()
        lib = self._lib
        ids = sorted({c.image_id for c in changes})

        def done(_: object) -> None:
            self.can_undo_changed.emit(bool(self._undo))
            self.changed.emit(ids, f"Undid: {what}")

        self._tasks.run(lambda: lib.undo(changes), done, self.failed.emit)
