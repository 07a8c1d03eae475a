"""Add a folder and it is tagged: one read and one decode per new image.

``index_and_tag`` is the scan (:func:`~animesion_desktop.core.scan.scan_roots`) with the active
packs riding along; ``index_new_files`` is the same for a list of files (the watcher's arrivals). Each new file is read once and hashed from those bytes (as the scan always
does); when its thumbnail is not cached yet it is decoded once, at the JPEG draft scale that
serves both the thumbnail and the largest pack input, and the same pixels are turned upright
and preprocessed for every active pack on the scan's worker threads. The samples go straight
to each pack's :class:`~animesion_desktop.core.tagging.pipeline.Pipeline` (fed mode: no decode
threads of its own) and its inference thread; results are written once the scan's writer has
committed the file records that give them an image id.

Files already known (unchanged, or a copy of a known image whose thumbnail exists) are not
decoded; a closing ``run_pack`` per pack tags whatever is still without a run record (copies of
known images, or images whose predictions a kill or Ctrl-C cut off), so resuming works exactly
as for the scan and ``tag`` alone. A file that cannot be decoded is one recorded scan error.

Each thumbnail written is also given its perceptual hash (``core.similar.phash``), decoded from
the very JPEG bytes written to the cache, which is what ``hash_images`` computes from the cache
after a plain scan; a closing ``hash_images`` hashes what the pass did not and regroups
near-duplicates. A pack that fails during the pass stops tagging, never the indexing.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.files import FileRecord
from animesion_desktop.core.scan import DEFAULT_MAX_PIXELS, ScanSummary, scan_roots
from animesion_desktop.core.scan.decode import describe_image_error
from animesion_desktop.core.scan.probe import Probed
from animesion_desktop.core.scan.scanner import IndexTotals, Pending, index_files
from animesion_desktop.core.similar.duplicates import hash_images, store_hashes
from animesion_desktop.core.similar.phash import phash
from animesion_desktop.core.tagging.decode import upright
from animesion_desktop.core.tagging.job import (
    OpenPack,
    PackRow,
    PackRun,
    TaggingError,
    TagSummary,
    _Committer,
    _open_pack,
    _prepare_all,
    choose_packs,
    run_pack,
    tagging_vocabulary,
)
from animesion_desktop.core.tagging.pipeline import (
    ImageResult,
    InferenceError,
    Pipeline,
    PredictorLike,
)
from animesion_desktop.core.tagging.store import PackVocabulary

log = logging.getLogger(__name__)
T = TypeVar("T")
Sample = tuple[np.ndarray | None, str | None]  # (model input, error) for one pack


@dataclass
class OnePassSummary:
    scan: ScanSummary
    tags: TagSummary
    packs_active: bool = True

    @property
    def cancelled(self) -> bool:
        return self.scan.cancelled or self.tags.cancelled

    def line(self) -> str:
        if not self.packs_active:
            return self.scan.line() + "; no pack is active, nothing was tagged"
        return f"{self.scan.line()}; {self.tags.line()}"


@dataclass
class _Lane:
    """One active pack during the pass: its predictor, pipeline and writer."""

    pack: PackRow
    model_pack: Any
    predictor: PredictorLike
    vocab: PackVocabulary
    run: PackRun
    pipeline: Pipeline
    committer: _Committer
    size: int | None
    waiting: list[ImageResult] = field(default_factory=list)  # image not committed yet
    failure: InferenceError | None = None  # the model failed: this lane takes nothing more


def model_inputs(predictors: Sequence[PredictorLike]) -> Any:
    """What the scan workers do with the decoded pixels: one sample (or error) per pack, in
    the words the tagger would use for the same failure."""

    def also(im: Image.Image) -> list[Sample]:
        try:
            image = upright(im)
        except Exception as exc:  # a mode the conversion cannot take: the tagger's error text
            return [(None, describe_image_error(exc))] * len(predictors)
        out: list[Sample] = []
        for predictor in predictors:
            try:
                out.append((np.asarray(predictor.preprocess(image)), None))
            except Exception as exc:
                out.append((None, f"cannot preprocess: {exc}"))
        return out

    return also


def _ids_of(lib: Library, hashes: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(hashes))
    found: dict[str, int] = {}
    with lib.read() as s:
        conn = s.connection()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for image_id, h in conn.exec_driver_sql(
                f"SELECT id, hash FROM images WHERE hash IN ({marks})", tuple(chunk)
            ):
                found[h] = int(image_id)
    return found


class _Pass:
    """The hooks the indexing calls, and the bookkeeping between samples, perceptual hashes and
    image ids (known only once the writer committed the file records)."""

    def __init__(self, lib: Library, lanes: list[_Lane], cancel: threading.Event,
                 batch_size: int | None) -> None:
        self.lib, self.lanes, self.cancel, self.batch_size = lib, lanes, cancel, batch_size
        self.keys: dict[int, str] = {}  # sample key -> content hash
        self.ids: dict[str, int] = {}  # content hash -> image id, once committed
        self.fed = 0
        self.seen: set[str] = set()  # hashes fed this pass (a second copy is not run twice)
        self.phashes: dict[str, int] = {}  # content hash -> perceptual hash, not stored yet
        self.phash_writes: list[Future[Any]] = []
        self.phashed = 0

    def hooks(self) -> dict[str, Any]:
        """Keyword arguments for ``index_files`` (through ``scan_roots`` or directly)."""
        hooks: dict[str, Any] = {"thumb_hash": phash, "on_take": self.on_take,
                                 "on_commit": self.on_commit}
        if self.lanes:
            sizes = [lane.size for lane in self.lanes if lane.size]
            hooks["also"] = model_inputs([lane.predictor for lane in self.lanes])
            hooks["also_size"] = max(sizes) if sizes else None
        return hooks

    def live(self) -> list[_Lane]:
        return [lane for lane in self.lanes if lane.failure is None]

    def on_take(self, item: Pending, probed: Probed) -> None:
        if probed.hash is not None and probed.thumb_hash is not None:
            self.phashes[probed.hash] = int(probed.thumb_hash)
        if (probed.payload is not None and probed.hash is not None and probed.error is None
                and probed.hash not in self.seen):
            self.seen.add(probed.hash)
            self.fed += 1
            key = self.fed
            self.keys[key] = probed.hash
            path = item.display()
            for lane, (sample, error) in zip(self.lanes, probed.payload, strict=True):
                if lane.failure is not None:
                    continue
                lane.run.total += 1
                # Back-pressure: while the model is behind, write what it finished.
                while not lane.pipeline.feed(key, path, sample, error):
                    if self.cancel.is_set() or lane.pipeline.finished:
                        break
                    self.pump()
        self.pump()

    def on_commit(self, records: Sequence[FileRecord]) -> None:
        hashes = [r.hash for r in records if r.hash is not None and r.error is None]
        self.ids.update(_ids_of(self.lib, (h for h in hashes if h not in self.ids)))
        rows = [{"i": self.ids[h], "h": self.phashes.pop(h)}
                for h in dict.fromkeys(hashes) if h in self.phashes and h in self.ids]
        if rows:
            self.phash_writes.append(self.lib.submit(store_hashes(rows)))
            self.phashed += len(rows)
        self.pump()

    def pump(self) -> None:
        for lane in self.live():
            try:
                lane.waiting.extend(lane.pipeline.ready())
            except InferenceError as exc:  # the model broke: keep indexing, stop tagging
                lane.failure = exc
                lane.pipeline.stop()
            self.write(lane)

    def write(self, lane: _Lane) -> None:
        if not lane.waiting:
            lane.committer.add(())  # a time-based flush
            return
        ready, waiting = [], []
        for r in lane.waiting:
            image_id = self.ids.get(self.keys[r.image_id])
            if image_id is None:
                waiting.append(r)
            else:
                ready.append(dataclasses.replace(r, image_id=image_id))  # mode etc. kept
        lane.waiting = waiting
        lane.committer.add(_prepare_all(lane.vocab, ready, lane.run))

    def finish_lane(self, lane: _Lane) -> Job[None]:
        """After the indexing: tell the pipeline no more is coming, write all it returns."""
        stage = f"tagging {lane.pack.name}"
        while not lane.pipeline.end_feed():
            if self.cancel.is_set() or lane.pipeline.finished:
                break
            self.pump()
        done = 0
        try:
            for batch in lane.pipeline.results():
                lane.waiting.extend(batch)
                self.write(lane)
                done += len(batch)
                if batch:
                    yield Progress(stage, done, lane.run.total, extra={"pack": lane.pack.name})
        except InferenceError as exc:
            lane.failure = exc

    def drive(self, job: Job[T]) -> Job[T]:
        """Run the indexing job with the pipelines going; write every result before leaving
        (also when the caller drops the job or presses Ctrl-C: what was inferred is kept)."""
        started = time.monotonic()
        for lane in self.lanes:
            lane.pipeline.start()
        try:
            result = yield from job
            for lane in self.live():
                yield from self.finish_lane(lane)
            return result
        finally:
            for lane in self.lanes:
                lane.pipeline.stop()
            try:
                self.pump()
            finally:
                for lane in self.lanes:
                    lane.committer.finish()
                    lane.run.seconds = time.monotonic() - started

    def closing_runs(self, restrict: Iterable[int] | None) -> Job[None]:
        """What the pass did not decode: copies of known images, leftovers of a cut-off run."""
        for lane in self.live():
            if self.cancel.is_set():
                break
            rest = yield from run_pack(self.lib, lane.pack, lane.predictor,
                                       lane.model_pack.heads, self.cancel,
                                       batch_size=self.batch_size, min_size=lane.size,
                                       restrict=restrict)
            lane.run.total += rest.total
            lane.run.tagged += rest.tagged
            lane.run.failed.extend(rest.failed)
            lane.run.seconds += rest.seconds
            lane.run.conditioned += rest.conditioned  # multimodal packs (tagging/conditioning)
            lane.run.retagged += rest.retagged
            lane.run.precision, lane.run.agreement = rest.precision, rest.agreement
            lane.run.device = rest.device

    def hash_rest(self) -> Job[None]:
        """Wait for the hashes written; hash what the pass did not (thumbnails that existed)
        and regroup near-duplicates, as ``animesion scan`` does after a scan."""
        for future in self.phash_writes:
            future.result()
        self.phash_writes.clear()
        if not self.cancel.is_set():
            yield from hash_images(self.lib, self.cancel, force=self.phashed > 0)

    def summarise(self, tags: TagSummary) -> None:
        for lane in self.lanes:
            lane.run.cancelled = self.cancel.is_set()
            tags.runs.append(lane.run)
        tags.cancelled = self.cancel.is_set()

    def failure(self) -> str | None:
        failed = [f"{lane.pack.name}: {lane.failure}" for lane in self.lanes if lane.failure]
        return "; ".join(failed) or None


def _active_packs(lib: Library) -> list[PackRow]:
    try:
        return choose_packs(lib, None)
    except TaggingError:  # no pack installed or active: adding a folder still indexes it
        return []


def _open_lanes(lib: Library, packs: Sequence[PackRow], cancel: threading.Event,
                device: str | None, batch_size: int | None,
                open_pack: OpenPack) -> list[_Lane]:
    lanes: list[_Lane] = []
    try:
        for pack in packs:
            model_pack, predictor, _warnings = open_pack(pack.path, device)
            size = getattr(getattr(model_pack, "input", None), "size", None)
            run = PackRun(pack.name, predictor.device_description)
            vocab = tagging_vocabulary(lib, pack.id, model_pack.heads, predictor)
            lanes.append(_Lane(
                pack, model_pack, predictor, vocab,
                run, Pipeline(predictor, (), cancel, batch_size=batch_size, fed=True),
                _Committer(lib, pack.id, run), size,
            ))
    except BaseException:
        _close(lanes)
        raise
    return lanes


def _close(lanes: Sequence[_Lane]) -> None:
    for lane in lanes:
        lane.pipeline.stop()
        close = getattr(lane.predictor, "close", None)
        if close is not None:
            close()


def index_and_tag(
    lib: Library,
    roots: Iterable[str | os.PathLike[str]] | None = None,
    cancel: threading.Event | None = None,
    *,
    device: str | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    open_pack: OpenPack = _open_pack,
    precision: str | None = None,
    **scan_options: Any,
) -> Job[OnePassSummary]:
    """Scan ``roots`` (see :func:`scan_roots`) and tag what is new with every active pack, in
    one pass; with no active pack it is the plain scan (and its near-duplicate hashing).
    Yields Progress. ``precision`` (auto when None) goes to ``open_pack``, under the same
    agreement check as ``tag_images``."""
    cancel = cancel if cancel is not None else threading.Event()
    if precision is not None:
        open_pack = functools.partial(open_pack, precision=precision)
    packs = _active_packs(lib)
    for pack in packs:
        yield Progress(f"loading {pack.name}", 0, None, pack.name, {"pack": pack.name})
    lanes = _open_lanes(lib, packs, cancel, device, batch_size, open_pack)
    one = _Pass(lib, lanes, cancel, batch_size)
    summary = OnePassSummary(ScanSummary(), TagSummary(), packs_active=bool(lanes))
    try:
        try:
            summary.scan = yield from one.drive(scan_roots(
                lib, roots, cancel, workers=workers, **scan_options, **one.hooks()))
        except KeyboardInterrupt:
            cancel.set()  # Ctrl-C: stop like a cancel; what was committed and inferred is kept
        yield from one.closing_runs(None)
        yield from one.hash_rest()
    finally:
        _close(lanes)
    one.summarise(summary.tags)
    failure = one.failure()
    if failure is not None:  # the folder is indexed; the failing pack's tagging stopped
        raise TaggingError(f"a pack failed during the scan: {failure}")
    return summary


def index_new_files(
    lib: Library,
    items: Sequence[Pending],
    cancel: threading.Event,
    *,
    workers: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    stage: str = "indexing",
    device: str | None = None,
    batch_size: int | None = None,
    open_pack: OpenPack = _open_pack,
    precision: str | None = None,
) -> Job[IndexTotals]:
    """``index_files`` with the active packs riding along: the watcher's ``index``. A pack
    that cannot be opened or fails is logged and leaves the indexing as it is (the app's
    tagging of new arrivals reports it)."""
    if precision is not None:
        open_pack = functools.partial(open_pack, precision=precision)
    lanes: list[_Lane] = []
    packs = _active_packs(lib) if items else []
    if packs:
        try:
            lanes = _open_lanes(lib, packs, cancel, device, batch_size, open_pack)
        except TaggingError as exc:
            log.warning("new files are indexed without tagging: %s", exc)
    one = _Pass(lib, lanes, cancel, batch_size)
    try:
        totals = yield from one.drive(index_files(
            lib, items, cancel, workers=workers, max_pixels=max_pixels, stage=stage,
            **one.hooks()))
        try:
            yield from one.closing_runs(totals.outcome.image_ids)
        except TaggingError as exc:
            log.warning("tagging new files stopped: %s", exc)
        yield from one.hash_rest()
    finally:
        _close(lanes)
    failure = one.failure()
    if failure is not None:
        log.warning("tagging new files stopped: %s", failure)
    return totals


def still_untagged(lib: Library, image_ids: Sequence[int]) -> list[int]:
    """Those of ``image_ids`` some active pack has no run record for (what the one pass
    left to a tagging job: nothing, unless a pack failed or the pass was cut off)."""
    packs = [p.id for p in _active_packs(lib)]
    if not packs or not image_ids:
        return []
    wanted = sorted(set(image_ids))
    done: dict[int, int] = {}
    with lib.read() as s:
        conn = s.connection()
        pack_marks = ",".join("?" * len(packs))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for image_id, n in conn.exec_driver_sql(
                f"SELECT image_id, COUNT(DISTINCT pack_id) FROM inference_runs "
                f"WHERE image_id IN ({marks}) AND pack_id IN ({pack_marks}) GROUP BY image_id",
                (*chunk, *packs),
            ):
                done[int(image_id)] = int(n)
    return [i for i in wanted if done.get(i, 0) < len(packs)]
