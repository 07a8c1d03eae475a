"""The review session: the queue, the current position, decisions, undo and progress.

Reads (the queue, items, batch previews) run on workers and carry a token; an answer for a
queue that has since been reopened is dropped. Decisions are pushed onto the undo stack as
LabelsCommands, which write through the ordered lane. The position moves at once (the page
does not wait for the write), so a reviewer is never held up by the database.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from animesion_desktop.core import views
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.library import LabelChange
from animesion_desktop.core.review import (
    BatchPreview,
    Decision,
    ReviewItem,
    accept_above,
    build_queue,
    decide,
    preview_accept_above,
    review_item,
)
from animesion_desktop.ui.review.images import ImageLoader
from animesion_desktop.ui.review.writes import LabelsCommand, OrderedWrites, WriteLane
from animesion_desktop.ui.workers import TaskRunner

PREFETCH = 4  # items (and their images) read ahead of the current one


class ReviewController(QObject):
    queue_loaded = Signal(int)  # size of the queue
    current_changed = Signal()  # the position moved or the current item arrived
    image_ready = Signal(int)  # image id whose image was decoded
    progress_changed = Signal(str)
    written = Signal(str)  # a decision (or its undo) reached the library: what it was
    failed = Signal(str)
    batch_previewed = Signal(object)  # BatchPreview

    def __init__(self, lib: Library, lane: WriteLane | None = None,
                 undo_stack: QUndoStack | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lib = lib
        self.lane: WriteLane = lane or OrderedWrites(self)
        self.undo_stack = undo_stack or QUndoStack(self)
        self._reads = TaskRunner(parent=self)
        self.images = ImageLoader(parent=self)
        self.images.ready.connect(self.image_ready)
        self._token = 0
        self._preview_token = 0
        self.ids: list[int] = []
        self.pos = 0
        self._items: dict[int, ReviewItem] = {}
        self._asked: set[int] = set()
        self.decided: set[int] = set()
        self._times: deque[float] = deque(maxlen=60)
        self.query = ""
        self.order = "confidence"

    # -- the queue ----------------------------------------------------------------------------
    def open(self, query: str = "", order: str = "confidence") -> None:
        self._token += 1
        token, lib = self._token, self.lib
        self.query, self.order = query, order

        def loaded(ids: list[int]) -> None:
            if token != self._token:
                return
            self.ids, self.pos = ids, 0
            self.decided.clear()
            self._items.clear()
            self._asked.clear()
            self.queue_loaded.emit(len(ids))
            self._show()

        self._reads.run(lambda: build_queue(lib, query, order), loaded, self._read_failed(token))

    def _read_failed(self, token: int):  # type: ignore[no-untyped-def]
        def failed(message: str) -> None:
            if token == self._token:
                self.failed.emit(message)
        return failed

    @property
    def current_id(self) -> int | None:
        return self.ids[self.pos] if 0 <= self.pos < len(self.ids) else None

    @property
    def current(self) -> ReviewItem | None:
        image_id = self.current_id
        return None if image_id is None else self._items.get(image_id)

    def item(self, image_id: int) -> ReviewItem | None:
        return self._items.get(image_id)

    def move(self, delta: int) -> None:
        if not self.ids:
            return
        self.pos = max(0, min(len(self.ids) - 1, self.pos + delta))
        self._show()

    def go_to(self, image_id: int) -> None:
        if image_id in self.ids:
            self.pos = self.ids.index(image_id)
            self._show()

    def _show(self) -> None:
        self._prefetch()
        self.current_changed.emit()
        self.progress_changed.emit(self.progress_text())

    def _prefetch(self) -> None:
        want = [i for i in self.ids[self.pos:self.pos + PREFETCH + 1] if i not in self._asked]
        for image_id in self.ids[self.pos:self.pos + PREFETCH + 1]:
            item = self._items.get(image_id)
            if item is not None:
                self._want_image(item)
        if not want:
            return
        self._asked.update(want)
        token, lib = self._token, self.lib

        def read() -> list[ReviewItem]:
            return [it for it in (review_item(lib, i) for i in want) if it is not None]

        self._reads.run(read, lambda items: self._items_arrived(token, items),
                        self._read_failed(token))

    def _items_arrived(self, token: int, items: list[ReviewItem]) -> None:
        if token != self._token:
            return
        for item in items:
            self._items[item.image_id] = item
            self._want_image(item)
        if any(it.image_id == self.current_id for it in items):
            self.current_changed.emit()

    def _want_image(self, item: ReviewItem) -> None:
        self.images.request(item.image_id, item.path,
                            views.thumbnail_file(self.lib, item.hash))

    # -- decisions ----------------------------------------------------------------------------
    def decide(self, decision: Decision, pick: int = 0) -> bool:
        """Decide on the current item and move to the next undecided one; False if there is
        no item (yet) or no such candidate."""
        item = self.current
        if item is None or not item.candidates:
            return False
        if decision is Decision.PICK and pick >= len(item.candidates):
            return False
        cands = [c.tag for c in item.candidates]
        image_id, lib = item.image_id, self.lib
        name = {Decision.ACCEPT: f"Accept {cands[0]}", Decision.REJECT: f"Reject {cands[0]}",
                Decision.PICK: f"Pick {cands[min(pick, len(cands) - 1)]}",
                Decision.NONE: "None of these"}[decision]
        self.decided.add(image_id)
        self._times.append(time.monotonic())
        command = LabelsCommand(
            lib, self.lane, name, lambda: decide(lib, image_id, decision, cands, pick),
            on_applied=lambda ch: self._applied(name, [image_id]),
            on_undone=lambda ch: self._undone(name, [image_id]),
            on_failed=self.failed.emit)
        # Show the next image first (painted at once, see ReviewPage), then start the write:
        # the writer thread would otherwise share the interpreter with that paint.
        self._advance()
        self.undo_stack.push(command)  # runs the write
        return True

    def _advance(self) -> None:
        for pos in list(range(self.pos + 1, len(self.ids))) + list(range(0, self.pos + 1)):
            if self.ids[pos] not in self.decided:
                self.pos = pos
                break
        else:
            self.pos = len(self.ids)  # all decided: past the end
        self._show()

    def _applied(self, what: str, image_ids: list[int]) -> None:
        self.decided.update(i for i in image_ids if i in self._items or i in self.ids)
        self.progress_changed.emit(self.progress_text())
        self.written.emit(what)

    def _undone(self, what: str, image_ids: list[int]) -> None:
        back = [i for i in image_ids if i in self.decided]
        self.decided.difference_update(image_ids)
        if back:
            self.pos = self.ids.index(back[0]) if len(back) == 1 else self.pos
            self._show()
        self.progress_changed.emit(self.progress_text())
        self.written.emit(f"Undid: {what}")

    def undo(self) -> None:
        self.undo_stack.undo()

    # -- batch --------------------------------------------------------------------------------
    def preview_batch(self, tag: str, threshold: float) -> None:
        self._preview_token += 1
        token, lib = self._preview_token, self.lib

        def done(preview: BatchPreview) -> None:
            if token == self._preview_token:
                self.batch_previewed.emit(preview)

        self._reads.run(lambda: preview_accept_above(lib, tag, threshold), done, self.failed.emit)

    def apply_batch(self, tag: str, threshold: float) -> None:
        lib = self.lib
        name = f"Accept {tag} on every image scoring ≥ {threshold:.2f}"
        queued = set(self.ids)

        def applied(changes: list[LabelChange]) -> None:
            ids = {c.image_id for c in changes} & queued
            self.decided.update(ids)
            self._times.extend([time.monotonic()] * min(len(ids), 1))
            if self.current_id in ids:
                self._advance()
            self._applied(name, [])

        def undone(changes: list[LabelChange]) -> None:
            self._undone(name, sorted({c.image_id for c in changes} & queued))

        self.undo_stack.push(LabelsCommand(lib, self.lane, name,
                                           lambda: accept_above(lib, tag, threshold),
                                           applied, undone, self.failed.emit))

    # -- progress -----------------------------------------------------------------------------
    def rate(self) -> float | None:
        """Decisions per minute over the recent decisions (None until there are two)."""
        if len(self._times) < 2:
            return None
        span = self._times[-1] - self._times[0]
        return None if span <= 0 else (len(self._times) - 1) * 60.0 / span

    def progress_text(self) -> str:
        decided = len(self.decided)
        left = len(self.ids) - decided
        rate = self.rate()
        speed = "–" if rate is None else f"{rate:.1f}"
        return f"{decided:,} decided · {left:,} left · {speed} / min"
