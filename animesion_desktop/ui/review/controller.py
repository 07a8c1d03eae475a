"""The review session: the queue, the current position, decisions, undo and progress.

Two queues. ``character``: one entry per image whose character a model guessed and nobody
decided, with its top-5 guesses. ``general``: one entry per image and general tag a model
claims that nobody decided, read in pages (core/review/tag_queue.py).

Every read goes through the read lane with a kind, and the lane delivers only the newest answer
of each kind; each answer is also checked against the queue's generation, so nothing read for a
queue that has since been reopened is used:
- ``queue``: opening a queue (its entries or first page, and its size);
- ``page``: the general queue's next page, asked for before the reviewer gets there;
- ``item``: the current entry's top-5, when it was not read ahead;
- ``image``: the current entry's image, when it was not read ahead;
- ``ahead``: the next PREFETCH entries and their images, one request in flight at a time;
  whatever lands for an entry the reviewer has meanwhile moved past is dropped.

Decisions are pushed onto the undo stack as LabelsCommands, which write through the ordered
lane. The position moves at once (the page does not wait for the write), so a reviewer is
never held up by the database.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeAlias

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QUndoStack

from animesion_desktop.core import views
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.library import LabelChange
from animesion_desktop.core.review import (
    Candidate,
    Decision,
    ReviewItem,
    TagEntry,
    TagQueue,
    accept_above,
    build_queue,
    decide,
    preview_accept_above,
    review_item,
)
from animesion_desktop.ui.lanes import ReadLane
from animesion_desktop.ui.review.images import ImageCache, decode
from animesion_desktop.ui.review.writes import LabelsCommand, OrderedWrites, WriteLane

CHARACTER, GENERAL = "character", "general"
QUEUES = (CHARACTER, GENERAL)
PREFETCH = 4  # entries (and their images) read ahead of the current one
PAGE_AHEAD = 100  # the general queue's next page is asked for this many entries before its end

Key: TypeAlias = int | tuple[int, int]  # an image id (character queue) or (image id, tag id)


def image_of(key: Key) -> int:
    return key[0] if isinstance(key, tuple) else key


def _tag_item(entry: TagEntry) -> ReviewItem:
    """A general-tag entry as the page shows it: one candidate, the claimed tag."""
    return ReviewItem(entry.image_id, entry.hash, entry.path, None, None,
                      (Candidate(entry.tag, entry.name, entry.score),))


class ReviewController(QObject):
    queue_loaded = Signal(int)  # size of the queue
    current_changed = Signal()  # the position moved or the current item arrived
    image_ready = Signal(int)  # image id whose image was decoded
    progress_changed = Signal(str)
    written = Signal(str)  # a decision (or its undo) reached the library: what it was
    failed = Signal(str)
    batch_previewed = Signal(object)  # BatchPreview

    def __init__(self, lib: Library, lane: WriteLane | None = None,
                 undo_stack: QUndoStack | None = None, parent: QObject | None = None,
                 reads: ReadLane | None = None) -> None:
        super().__init__(parent)
        self.lib = lib
        self.lane: WriteLane = lane or OrderedWrites(self)
        self.undo_stack = undo_stack or QUndoStack(self)
        self.reads = reads or ReadLane(4, self)
        self._kind = f"review-{id(self):x}-"  # kinds of our own on a shared lane
        self.images = ImageCache()
        self.clock: Callable[[], float] = time.monotonic
        self.queue = CHARACTER
        self.query = ""
        self.order = "confidence"
        self._generation = 0
        self.keys: list[Key] = []
        self._index: dict[Key, int] = {}
        self.pos = 0
        self.total = 0
        self._items: dict[Key, ReviewItem] = {}
        self._entries: list[TagEntry] = []  # the general queue's entries loaded so far
        self._tag_queue: TagQueue | None = None
        self._more = False  # the general queue has pages not loaded yet
        self._paging = False
        self._ahead: set[Key] | None = None  # keys of the read-ahead in flight
        self._asked_ahead: set[Key] = set()
        self._gone: set[Key] = set()  # entries whose image left the library meanwhile
        self._asked_item: Key | None = None  # the current entry's reads in flight
        self._asked_image: Key | None = None
        self.decided: set[Key] = set()
        self._times: deque[float] = deque(maxlen=60)

    # -- reads --------------------------------------------------------------------------------
    def _read(self, kind: str, fn: Callable[[], Any], done: Callable[[Any], None],
              failed: Callable[[str], None] | None = None) -> None:
        generation = self._generation

        def landed(result: Any) -> None:
            if generation == self._generation:
                done(result)

        def went_wrong(message: str) -> None:
            if failed is not None:
                failed(message)
            if generation == self._generation:
                self.failed.emit(message)

        self.reads.run(self._kind + kind, fn, landed, went_wrong)

    # -- the queue ----------------------------------------------------------------------------
    def open(self, query: str = "", order: str = "confidence", queue: str | None = None) -> None:
        if queue is not None:
            if queue not in QUEUES:
                raise ValueError(f"unknown review queue {queue!r}")
            self.queue = queue
        self._generation += 1
        self._ahead, self._paging = None, False
        self._gone = set()
        self._asked_item = self._asked_image = None
        lib, kind = self.lib, self.queue
        self.query, self.order = query, order

        def read() -> tuple[list[Key], int, TagQueue | None, list[TagEntry]]:
            if kind == CHARACTER:
                ids: list[Key] = list(build_queue(lib, query, order))
                return ids, len(ids), None, []
            tags = TagQueue(lib, query)
            page = tags.page()
            return [e.key for e in page], len(tags), tags, page

        self._read("queue", read, self._queue_arrived)

    def _queue_arrived(self, result: tuple[list[Key], int, TagQueue | None, list[TagEntry]],
                       ) -> None:
        keys, total, tags, page = result
        self.keys, self.total, self._tag_queue, self._entries = keys, total, tags, page
        self._index = {k: i for i, k in enumerate(keys)}
        self._more = tags is not None and len(keys) < total
        self.pos = 0
        self.decided.clear()
        self._times.clear()
        self._items = {e.key: _tag_item(e) for e in page}
        self.queue_loaded.emit(total)
        self._show()

    @property
    def more_coming(self) -> bool:
        """The general queue has entries not loaded yet (or a page on its way)."""
        return self._more

    @property
    def ids(self) -> list[int]:
        """The image of each entry loaded, in queue order."""
        return [image_of(k) for k in self.keys]

    @property
    def current_key(self) -> Key | None:
        return self.keys[self.pos] if 0 <= self.pos < len(self.keys) else None

    @property
    def current_id(self) -> int | None:
        key = self.current_key
        return None if key is None else image_of(key)

    @property
    def current(self) -> ReviewItem | None:
        key = self.current_key
        return None if key is None else self._items.get(key)

    def item(self, key: Key) -> ReviewItem | None:
        return self._items.get(key)

    def move(self, delta: int) -> None:
        if not self.keys:
            return
        self.pos = max(0, min(len(self.keys) - 1, self.pos + delta))
        self._show()

    def go_to(self, key: Key) -> None:
        if key in self._index:
            self.pos = self._index[key]
            self._show()

    def _show(self) -> None:
        self._want_current()
        self.current_changed.emit()  # painted now (see ReviewPage), before any read-ahead
        # starts: a worker decoding would share the interpreter with that paint
        self._read_ahead()
        self._want_page()
        self.progress_changed.emit(self.progress_text())

    def _want_current(self) -> None:
        key = self.current_key
        if key is None:
            return
        item = self._items.get(key)
        if item is None:
            # (A general entry always comes with its page: only characters are read here.)
            if self.queue == CHARACTER and self._asked_item != key:
                self._asked_item = key
                lib, image_id = self.lib, image_of(key)
                self._read("item", lambda: review_item(lib, image_id),
                           lambda it: self._item_arrived(key, it), self._forget_asked)
        elif item.image_id not in self.images and self._asked_image != key:
            self._asked_image = key
            paths = self._paths(item)
            self._read("image", lambda: decode(paths),
                       lambda image: self._image_arrived(key, item.image_id, image),
                       self._forget_asked)

    def _forget_asked(self, _message: str) -> None:
        self._asked_item = self._asked_image = None

    def _still_ahead(self, key: Key) -> bool:
        """False for an entry the reviewer has moved past: what lands for it is dropped."""
        return self._index.get(key, -1) >= self.pos

    def _item_arrived(self, key: Key, item: ReviewItem | None) -> None:
        if self._asked_item == key:
            self._asked_item = None
        if item is None or not self._still_ahead(key):
            return
        self._items[key] = item
        if key == self.current_key:
            self._want_current()  # its image
            self.current_changed.emit()

    def _image_arrived(self, key: Key, image_id: int, image: QImage) -> None:
        if self._asked_image == key:
            self._asked_image = None
        if not self._still_ahead(key):
            return
        self.images.put(image_id, image)
        self.image_ready.emit(image_id)

    def _paths(self, item: ReviewItem) -> tuple[str, str]:
        return (item.path, views.thumbnail_file(self.lib, item.hash))

    def _upcoming(self, n: int) -> list[Key]:
        """The next ``n`` undecided entries after the current one."""
        out: list[Key] = []
        for key in self.keys[self.pos + 1:]:
            if key not in self.decided:
                out.append(key)
                if len(out) == n:
                    break
        return out

    def _read_ahead(self) -> None:
        if self._ahead is not None:
            return  # one at a time: when it lands, the next one covers what is still missing
        want = [k for k in self._upcoming(PREFETCH) if k not in self._gone
                and (k not in self._items or image_of(k) not in self.images)]
        if not want:
            return
        self._ahead = self._asked_ahead = set(want)
        lib, known, cached = self.lib, {k: self._items.get(k) for k in want}, self.images.ids()

        def read() -> list[tuple[Key, ReviewItem, QImage | None]]:
            out = []
            for key in want:
                item = known[key] or review_item(lib, image_of(key))
                if item is None:
                    continue
                image = None if item.image_id in cached else decode(
                    (item.path, views.thumbnail_file(lib, item.hash)))
                out.append((key, item, image))
            return out

        def failed(_message: str) -> None:
            self._ahead = None

        self._read("ahead", read, self._ahead_arrived, failed)

    def _ahead_arrived(self, found: list[tuple[Key, ReviewItem, QImage | None]]) -> None:
        self._ahead = None
        current = self.current_key
        self._gone.update(self._asked_ahead - {key for key, _i, _im in found})
        for key, item, image in found:
            if not self._still_ahead(key):
                continue  # the reviewer has moved past it: a late answer, dropped
            self._items.setdefault(key, item)
            if image is not None:
                self.images.put(item.image_id, image)
            if key == current:
                self.current_changed.emit()
                if image is not None:
                    self.image_ready.emit(item.image_id)
        self._read_ahead()

    def _want_page(self) -> None:
        tags = self._tag_queue
        if (tags is None or not self._more or self._paging
                or len(self.keys) - self.pos > PAGE_AHEAD or not self._entries):
            return
        self._paging = True
        after = self._entries[-1]

        def failed(_message: str) -> None:
            self._paging = False

        self._read("page", lambda: tags.page(after), self._page_arrived, failed)

    def _page_arrived(self, page: list[TagEntry]) -> None:
        self._paging = False
        waiting = self.pos >= len(self.keys)  # past the end of what was loaded
        new = [e for e in page if e.key not in self._index]
        for entry in new:
            self._index[entry.key] = len(self.keys)
            self.keys.append(entry.key)
            self._items[entry.key] = _tag_item(entry)
        self._entries.extend(new)
        self._more = bool(new)
        if waiting:
            self._show()
            return
        self.progress_changed.emit(self.progress_text())
        self._read_ahead()

    # -- decisions ----------------------------------------------------------------------------
    def decide(self, decision: Decision, pick: int = 0) -> bool:
        """Decide on the current entry and move to the next undecided one; False if there is
        no entry (yet), no such candidate, or the decision does not apply to this queue."""
        item, key = self.current, self.current_key
        if item is None or key is None or not item.candidates:
            return False
        if decision is Decision.PICK and pick >= len(item.candidates):
            return False
        if self.queue == GENERAL and decision is Decision.NONE:
            return False  # "none of these" is about characters
        cands = [c.tag for c in item.candidates]
        image_id, lib = item.image_id, self.lib
        name = {Decision.ACCEPT: f"Accept {cands[0]}", Decision.REJECT: f"Reject {cands[0]}",
                Decision.PICK: f"Pick {cands[min(pick, len(cands) - 1)]}",
                Decision.NONE: "None of these"}[decision]
        self.decided.add(key)
        self._times.append(self.clock())
        command = LabelsCommand(
            lib, self.lane, name, lambda: decide(lib, image_id, decision, cands, pick),
            on_applied=lambda ch: self._applied(name, [key]),
            on_undone=lambda ch: self._undone(name, [key]),
            on_failed=self.failed.emit)
        # Show the next image first (painted at once, see ReviewPage), then start the write:
        # the writer thread would otherwise share the interpreter with that paint.
        self._advance()
        self.undo_stack.push(command)  # runs the write
        return True

    def _advance(self) -> None:
        n = len(self.keys)
        # Wrap round to entries skipped earlier only once the queue is all loaded.
        again = [] if self._more else list(range(0, self.pos + 1))
        for pos in list(range(self.pos + 1, n)) + again:
            if self.keys[pos] not in self.decided:
                self.pos = pos
                break
        else:
            self.pos = n  # all decided: past the end
        self._show()

    def _applied(self, what: str, keys: list[Key]) -> None:
        self.decided.update(k for k in keys if k in self._index)
        self.progress_changed.emit(self.progress_text())
        self.written.emit(what)

    def _undone(self, what: str, keys: list[Key]) -> None:
        back = [k for k in keys if k in self.decided]
        self.decided.difference_update(keys)
        if back:
            if len(back) == 1:
                self.pos = self._index[back[0]]
            self._show()
        self.progress_changed.emit(self.progress_text())
        self.written.emit(f"Undid: {what}")

    def undo(self) -> None:
        self.undo_stack.undo()

    # -- batch --------------------------------------------------------------------------------
    def preview_batch(self, tag: str, threshold: float) -> None:
        lib = self.lib
        self.reads.run(self._kind + "batch", lambda: preview_accept_above(lib, tag, threshold),
                       self.batch_previewed.emit, self.failed.emit)

    def _keys_of(self, changes: list[LabelChange]) -> list[Key]:
        if self.queue == CHARACTER:
            ids = {c.image_id for c in changes}
            return sorted(k for k in self._index if image_of(k) in ids)
        pairs = {(c.image_id, c.tag_id) for c in changes}
        return sorted(k for k in self._index if k in pairs)  # type: ignore[type-var]

    def apply_batch(self, tag: str, threshold: float) -> None:
        lib = self.lib
        name = f"Accept {tag} on every image scoring ≥ {threshold:.2f}"

        def applied(changes: list[LabelChange]) -> None:
            keys = self._keys_of(changes)
            self.decided.update(keys)
            if keys:
                self._times.append(self.clock())
            if self.current_key in keys:
                self._advance()
            self._recount()
            self._applied(name, [])

        def undone(changes: list[LabelChange]) -> None:
            self._recount()
            self._undone(name, self._keys_of(changes))

        self.undo_stack.push(LabelsCommand(lib, self.lane, name,
                                           lambda: accept_above(lib, tag, threshold),
                                           applied, undone, self.failed.emit))

    def _recount(self) -> None:
        """The general queue's size after a batch, which may reach entries not loaded yet."""
        tags = self._tag_queue
        if tags is None:
            return

        def counted(undecided: int) -> None:
            # ``decided`` holds loaded entries only, all of them labelled by now
            self.total = undecided + len(self.decided)
            self.progress_changed.emit(self.progress_text())

        self._read("count", tags.count, counted)

    # -- progress -----------------------------------------------------------------------------
    def rate(self) -> float | None:
        """Decisions per minute over the recent decisions (None until there are two)."""
        if len(self._times) < 2:
            return None
        span = self._times[-1] - self._times[0]
        return None if span <= 0 else (len(self._times) - 1) * 60.0 / span

    def progress_text(self) -> str:
        decided = len(self.decided)
        left = max(0, self.total - decided)
        rate = self.rate()
        speed = "–" if rate is None else f"{rate:.1f}"
        return f"{decided:,} decided · {left:,} left · {speed} / min"
