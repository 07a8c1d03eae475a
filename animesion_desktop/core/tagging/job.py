"""The tagging job: run model packs over the library's images and store what they see.

``tag_images`` is a core job (a generator yielding :class:`~animesion_desktop.core.jobs.Progress`,
returning a :class:`TagSummary`). For each pack it picks the images with a readable file and no
run record of that pack yet (all of them with ``force``; for a multimodal pack also those whose
accepted tags changed since, see ``conditioning``), feeds them through the
:class:`~animesion_desktop.core.tagging.pipeline.Pipeline` and hands the results to the library
writer in batched transactions (every ``FLUSH_IMAGES`` images or ``FLUSH_SECONDS``), at most two
in flight so the writer never falls far behind. Cancelling, Ctrl-C or the process dying leaves
every committed batch in place; the next run resumes with the images that have no run record.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, text

from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.library import Library, LibraryError
from animesion_desktop.core.library.schema import Pack, PackTag, Tag
from animesion_desktop.core.library.tags import normalize_name
from animesion_desktop.core.tagging.conditioning import (
    known_tags,
    record_missing_tags,
    stale_images,
    takes_known_tags,
)
from animesion_desktop.core.tagging.packs_registry import resolve_pack_path
from animesion_desktop.core.tagging.pipeline import (
    ImageResult,
    InferenceError,
    Pipeline,
    PredictorLike,
    WorkItem,
)
from animesion_desktop.core.tagging.store import (
    HeadVocabulary,
    PackVocabulary,
    StoredImage,
    prepare,
    write_batch,
)

FLUSH_IMAGES = 64
FLUSH_SECONDS = 2.0
MAX_WRITES_IN_FLIGHT = 2


class TaggingError(LibraryError):
    """A tagging run that cannot start or cannot go on (no pack, a pack that fails to load...)."""


class LabelLike(Protocol):
    name: str
    category: str
    threshold: float


class HeadLike(Protocol):
    """A pack head as ``models.pack`` describes it: a name and its ordered labels."""

    name: str
    labels: Sequence[LabelLike]


@dataclass
class PackRun:
    """What one pack did in one ``tag_images`` call."""

    pack: str
    device: str
    total: int = 0  # images that needed this pack when the run started
    tagged: int = 0  # committed with predictions
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (image id, path, error)
    seconds: float = 0.0
    cancelled: bool = False
    precision: str | None = None  # the path that answered at the end (models.precision)
    agreement: list[dict[str, Any]] | None = None  # what auto measured against fp32
    status: str | None = None  # models.precision.predictor_status: "CPU · int8"
    conditioned: int = 0  # multimodal packs: images answered conditioned on accepted tags
    retagged: int = 0  # ... of them run again because their accepted tags changed since

    @property
    def done(self) -> int:
        return self.tagged + len(self.failed)

    @property
    def images_per_s(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


@dataclass
class TagSummary:
    runs: list[PackRun] = field(default_factory=list)
    cancelled: bool = False

    @property
    def tagged(self) -> int:
        return sum(r.tagged for r in self.runs)

    @property
    def failed(self) -> list[tuple[int, str, str]]:
        return [f for r in self.runs for f in r.failed]

    def line(self) -> str:
        """One line for a status bar."""
        packs = ", ".join(r.pack for r in self.runs) or "no pack"
        text = f"tagged {self.tagged} images with {packs}"
        conditioned = sum(r.conditioned for r in self.runs)
        if conditioned:
            text += f" ({conditioned} conditioned on their accepted tags)"
        if self.failed:
            text += f"; {len(self.failed)} could not be read"
        return text + (" (cancelled)" if self.cancelled else "")


# -- choosing packs and images --------------------------------------------------------------


@dataclass(frozen=True)
class PackRow:
    id: int
    name: str
    path: Path


def choose_packs(lib: Library, pack_name: str | None) -> list[PackRow]:
    with lib.read() as s:
        packs = [
            PackRow(p.id, p.name, resolve_pack_path(lib, p.name, p.path))
            for p in s.scalars(select(Pack).order_by(Pack.id))
        ]
        active = {p.id for p in s.scalars(select(Pack).where(Pack.active.is_(True)))}
    if not packs:
        raise TaggingError(
            "no model packs are installed; install one with `animesion packs install PATH`"
        )
    if pack_name is not None:
        chosen = [p for p in packs if p.name == pack_name]
        if not chosen:
            raise TaggingError(
                f"no pack named {pack_name!r}; installed: {', '.join(p.name for p in packs)}"
            )
        return chosen
    chosen = [p for p in packs if p.id in active]
    if not chosen:
        raise TaggingError(
            "no pack is active; activate one with `animesion packs activate NAME` "
            "or name one with --pack"
        )
    return chosen


def pending_images(lib: Library, pack_id: int, *, force: bool = False,
                   restrict: Iterable[int] | None = None) -> list[WorkItem]:
    """Images with at least one readable file and (unless ``force``) no run of the pack yet,
    each with its files' paths, in id order."""
    only = None if restrict is None else set(restrict)
    with lib.read() as s:
        sql = (
            "SELECT f.image_id, r.path, f.relpath_raw FROM files f "
            "JOIN roots r ON r.id = f.root_id "
            "WHERE f.status = 'ok' AND f.image_id IS NOT NULL"
        )
        if not force:
            sql += (
                " AND NOT EXISTS (SELECT 1 FROM inference_runs x "
                "WHERE x.image_id = f.image_id AND x.pack_id = :p)"
            )
        sql += " ORDER BY f.image_id, f.id"
        paths: dict[int, list[str]] = {}
        for image_id, root, raw in s.execute(text(sql), {"p": pack_id}):
            if only is not None and image_id not in only:
                continue
            paths.setdefault(image_id, []).append(os.path.join(root, os.fsdecode(raw)))
    return [WorkItem(i, tuple(p)) for i, p in paths.items()]


def query_image_ids(lib: Library, query: str) -> list[int]:
    """Ids of the images a search query matches (``core.search``; a bad query raises its
    ``QueryError``, which names the position)."""
    from animesion_desktop.core.search import search

    result = search(lib, query, limit=None, order="oldest")
    if result.kind != "images":
        raise TaggingError(f"{query!r} selects files, not images; nothing to tag")
    return [int(i) for i in result.ids]


def load_vocabulary(lib: Library, pack_id: int, heads: Sequence[HeadLike]) -> PackVocabulary:
    """Map every label of the pack's heads (in output order) to its library tag id."""
    with lib.read() as s:
        known = {
            (c, n): i
            for i, c, n in s.execute(
                select(Tag.id, Tag.category, Tag.name)
                .join(PackTag, PackTag.tag_id == Tag.id)
                .where(PackTag.pack_id == pack_id)
            )
        }
    vocab: dict[str, HeadVocabulary] = {}
    for head in heads:
        ids, cats = [], []
        for label in head.labels:
            key = (label.category, normalize_name(label.name))
            if key not in known:
                raise TaggingError(
                    f"pack {pack_id}: label {key[0]}:{key[1]} of head {head.name!r} is not in "
                    "the library's record of the pack; reinstall it with `animesion packs "
                    "install --replace`"
                )
            ids.append(known[key])
            cats.append(label.category)
        vocab[head.name] = HeadVocabulary.build(head.name, ids, cats)
    return PackVocabulary(pack_id, vocab)


def tagging_vocabulary(lib: Library, pack_id: int, heads: Sequence[HeadLike],
                       predictor: Any) -> PackVocabulary:
    """:func:`load_vocabulary` of the pack's heads plus, for a multimodal pack, its generated
    tags (recorded with the pack first if it was installed before they were stored)."""
    extra = getattr(predictor, "tag_head", None)
    if extra is None or any(h.name == extra.name for h in heads):
        return load_vocabulary(lib, pack_id, heads)
    heads = [*heads, extra]
    try:
        return load_vocabulary(lib, pack_id, heads)
    except TaggingError:
        lib.write(lambda session: record_missing_tags(session, pack_id, extra))
        return load_vocabulary(lib, pack_id, heads)


def _with_known_tags(lib: Library, pack_id: int, items: list[WorkItem], predictor: Any,
                     run: PackRun, *, force: bool, restrict: Iterable[int] | None
                     ) -> list[WorkItem]:
    """A conditioned-mode pack: each image's accepted vocabulary tags, and the images whose
    tags changed since the pack ran on them (conditioning.py) added to the work."""
    if not takes_known_tags(predictor):
        return items
    given = known_tags(lib, predictor.vocabulary, predictor.max_known_tags)
    if not force:
        stale = stale_images(lib, pack_id, given, restrict)
        if stale:
            again = pending_images(lib, pack_id, force=True, restrict=stale)
            run.retagged = len(again)
            items = sorted([*items, *again], key=lambda it: it.image_id)
    return [dataclasses.replace(it, known_tags=given.get(it.image_id, ())) for it in items]


# -- running one pack -----------------------------------------------------------------------


class _Committer:
    """Batches prepared results and hands them to the library writer, a few in flight."""

    def __init__(self, lib: Library, pack_id: int, run: PackRun) -> None:
        self.lib, self.pack_id, self.run = lib, pack_id, run
        self.buffer: list[StoredImage] = []
        self.in_flight: deque[tuple[Future[list[int]], list[StoredImage]]] = deque()
        self.last = time.monotonic()
        self.committed = 0

    def add(self, items: Iterable[StoredImage]) -> None:
        self.buffer.extend(items)
        if len(self.buffer) >= FLUSH_IMAGES or (
            self.buffer and time.monotonic() - self.last >= FLUSH_SECONDS
        ):
            self.flush()
        self._reap(block=False)

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.buffer:
            return
        batch, self.buffer = self.buffer, []
        pack_id = self.pack_id
        future = self.lib.submit(lambda session: write_batch(session, pack_id, batch))
        self.in_flight.append((future, batch))
        while len(self.in_flight) > MAX_WRITES_IN_FLIGHT:
            self._reap_one()

    def _reap_one(self) -> None:
        future, batch = self.in_flight.popleft()
        written = set(future.result())  # a failed write raises here, in the job's thread
        self.committed += len(written)
        self.run.tagged += sum(1 for b in batch if b.error is None and b.image_id in written)

    def _reap(self, block: bool) -> None:
        while self.in_flight and (block or self.in_flight[0][0].done()):
            self._reap_one()

    def finish(self) -> None:
        """Write what is buffered and wait for every write (also on the way out of an error)."""
        error: BaseException | None = None
        try:
            self.flush()
        except BaseException as exc:
            error = exc
        while self.in_flight:
            try:
                self._reap_one()
            except BaseException as exc:
                error = error or exc
        if error is not None:
            raise error


def run_pack(
    lib: Library,
    pack: PackRow,
    predictor: PredictorLike,
    heads: Sequence[HeadLike],
    cancel: threading.Event,
    *,
    force: bool = False,
    restrict: Iterable[int] | None = None,
    batch_size: int | None = None,
    decode_threads: int | None = None,
    min_size: int | None = None,
) -> Job[PackRun]:
    """Run one opened predictor over the pack's pending images (see the module docstring)."""
    vocab = tagging_vocabulary(lib, pack.id, heads, predictor)
    restrict = None if restrict is None else list(restrict)  # read twice below
    items = pending_images(lib, pack.id, force=force, restrict=restrict)
    run = PackRun(pack.name, predictor.device_description)
    items = _with_known_tags(lib, pack.id, items, predictor, run, force=force, restrict=restrict)
    run.total = len(items)
    stage = f"tagging {pack.name}"
    extra: dict[str, Any] = {"pack": pack.name, "device": run.device}
    yield Progress(stage, 0, run.total, extra=extra)
    if not items:
        # Nothing left (a one-pass add fed it all): still decide and say what answered.
        _note_precision(predictor, run)
        return run
    started = time.monotonic()
    committer = _Committer(lib, pack.id, run)
    processed = 0
    pipeline = Pipeline(predictor, items, cancel, batch_size=batch_size,
                        decode_threads=decode_threads, min_size=min_size)
    try:
        with pipeline:
            try:
                for batch in pipeline.results():
                    if batch:
                        committer.add(_prepare_all(vocab, batch, run))
                        processed += len(batch)
                        message = f"{len(run.failed)} failed" if run.failed else ""
                        yield Progress(stage, processed, run.total, message, extra)
                    else:
                        committer.add(())  # time-based flush while the model is busy
            except KeyboardInterrupt:
                cancel.set()  # Ctrl-C: stop like a cancel; committed and inferred work is kept
            except InferenceError as exc:
                raise TaggingError(f"pack {pack.name!r} failed on {run.device}: {exc}") from exc
    finally:
        # Also when the caller closes the job early: write what was inferred before leaving.
        committer.finish()
        run.seconds = time.monotonic() - started
        _note_precision(predictor, run)
    run.cancelled = cancel.is_set() and processed < run.total
    yield Progress(stage, processed, run.total, "", extra)
    return run


def _note_precision(predictor: PredictorLike, run: PackRun) -> None:
    finish = getattr(predictor, "finish_check", None)
    if finish is not None:
        finish()  # a run shorter than the check window decides on what it saw
    from models.precision import predictor_status

    run.precision = getattr(predictor, "precision", None)
    run.agreement = getattr(predictor, "agreement", None)
    run.device = predictor.device_description
    run.status = predictor_status(predictor)


def _prepare_all(vocab: PackVocabulary, batch: list[ImageResult], run: PackRun) -> list[StoredImage]:
    out = []
    for result in batch:
        try:
            stored = prepare(vocab, result)
        except ValueError as exc:  # the model's output does not match the pack's labels
            raise TaggingError(f"pack {run.pack!r}: {exc}") from exc
        if stored.error is not None:
            run.failed.append((result.image_id, result.path or "", stored.error))
        elif stored.mode == "conditioned":
            run.conditioned += 1
        out.append(stored)
    return out


# -- the job ---------------------------------------------------------------------------------


def _open_pack(path: Path, device: str | None,
               precision: str | None = None) -> tuple[Any, PredictorLike, list[str]]:
    """Load a pack from disk and open its predictor; (pack, predictor, device warnings).
    ``precision``: auto (None), fp32, int8, bf16 or fp16 (models.precision)."""
    from models.backends import open_predictor
    from models.device import DeviceError
    from models.errors import PackError
    from models.pack import load_pack

    try:
        model_pack = load_pack(path)
        # Installed packs share one cache folder beside them (derived artifacts only).
        predictor = open_predictor(model_pack, device=device, cache_dir=path.parent / ".cache",
                                   precision=precision)
    except (PackError, DeviceError, ValueError) as exc:
        raise TaggingError(str(exc)) from exc
    warnings = list(getattr(predictor, "warnings", ()) or ())
    return model_pack, predictor, warnings


# (path, device) -> (pack, predictor, warnings); the default also takes precision=
OpenPack = Callable[..., tuple[Any, PredictorLike, list[str]]]


def tag_images(
    lib: Library,
    pack_name: str | None,
    cancel: threading.Event,
    *,
    query: str | None = None,
    force: bool = False,
    device: str | None = None,
    batch_size: int | None = None,
    decode_threads: int | None = None,
    open_pack: OpenPack = _open_pack,
    precision: str | None = None,
) -> Job[TagSummary]:
    """Run ``pack_name`` (default: every active pack) over the images it has not seen yet.
    ``precision`` (auto when None) is handed to ``open_pack``."""
    if precision is not None:
        open_pack = functools.partial(open_pack, precision=precision)
    packs = choose_packs(lib, pack_name)
    restrict = None if query is None else query_image_ids(lib, query)
    summary = TagSummary()
    for pack in packs:
        if cancel.is_set():
            break
        yield Progress(f"loading {pack.name}", 0, None, pack.name, {"pack": pack.name})
        model_pack, predictor, warnings = open_pack(pack.path, device)
        yield Progress(f"loading {pack.name}", 0, None, pack.name,
                       {"pack": pack.name, "device": predictor.device_description,
                        "warnings": warnings})
        size = getattr(getattr(model_pack, "input", None), "size", None)
        try:
            run = yield from run_pack(
                lib, pack, predictor, model_pack.heads, cancel, force=force, restrict=restrict,
                batch_size=batch_size, decode_threads=decode_threads, min_size=size,
            )
        finally:
            close = getattr(predictor, "close", None)
            if close is not None:
                close()
        summary.runs.append(run)
    summary.cancelled = cancel.is_set()
    return summary
