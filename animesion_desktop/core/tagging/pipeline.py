"""The tagging pipeline's moving parts: decode threads -> batches -> one inference thread.

```
work queue --> decode threads (PIL draft, EXIF, predictor.preprocess) --> bounded queue
           --> one inference thread (stack, predictor.predict; owns the device)
           --> results queue --> the caller (the job), which hands them to the library writer
```

A predictor with a device JPEG decoder (``jpeg_device`` set: CUDA, nvJPEG) gets the bytes of
JPEG files instead: decode threads only read them, and the inference thread decodes each
batch on the device (``predictor.jpeg_samples``); a file the device decoder refuses goes down
the PIL path on its own, so its outcome (sample or error line) is the CPU path's.

Decoding runs ahead of the model on its own threads (PIL releases the GIL while decoding and
resizing), so the model never waits for pixels; the bounded queue keeps memory flat however
large the library is. Only the inference thread calls ``predict``, so a device, its streams and
``torch.set_num_threads`` belong to one thread. A file that cannot be decoded or preprocessed
becomes an error result of its own and never reaches a batch.

Stopping (cancel, or the caller going away) is cooperative: decoders stop taking work, the
inference thread drops what it has not started, and :meth:`Pipeline.results` ends.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image

from animesion_desktop.core.priority import lower_thread_priority
from animesion_desktop.core.tagging.decode import DecodeError, open_first, read_jpeg

_DONE = object()
_POLL = 0.1  # seconds between looks at the stop flags while waiting on a queue


class PredictionLike(Protocol):
    heads: dict[str, np.ndarray]
    embedding: np.ndarray | None


class PredictorLike(Protocol):
    """What the pipeline needs of ``models.backends`` predictors (see docs/CONTRACTS.md)."""

    device_description: str
    batch_size: int

    def preprocess(self, image: Image.Image) -> np.ndarray: ...

    def predict(self, batch: np.ndarray) -> PredictionLike: ...


@dataclass(frozen=True)
class WorkItem:
    image_id: int
    paths: tuple[str, ...]  # the image's files, best first; the first that decodes is used
    known_tags: tuple[str, ...] = ()  # multimodal packs: tags to condition on (vocabulary's)


@dataclass
class ImageResult:
    """One image's outcome: per-head scores [C] and an embedding [D], or an error."""

    image_id: int
    path: str | None
    heads: dict[str, np.ndarray] | None = None
    embedding: np.ndarray | None = None
    error: str | None = None
    mode: str | None = None  # multimodal packs: the mode that answered
    conditioned_on: tuple[str, ...] = ()  # the tags given, when that mode is "conditioned"


class InferenceError(RuntimeError):
    """The model itself failed on a batch (not one image's fault); the job stops."""


@dataclass
class _Decoded:
    image_id: int
    path: str | None
    sample: np.ndarray | None
    error: str | None
    jpeg: bytes | None = None  # for the device decoder (then sample is None)
    item: WorkItem | None = None  # to fall back to the PIL path
    known_tags: tuple[str, ...] = ()


def default_decode_threads() -> int:
    return max(2, min(4, os.cpu_count() or 2))


class Pipeline:
    """Runs ``predictor`` over ``items``; iterate :meth:`results` to receive them in batches.

    Use as a context manager (or call :meth:`stop`) so the threads end however the caller leaves.
    """

    def __init__(
        self,
        predictor: PredictorLike,
        items: Sequence[WorkItem],
        cancel: threading.Event,
        *,
        batch_size: int | None = None,
        decode_threads: int | None = None,
        min_size: int | None = None,
        fed: bool = False,
    ) -> None:
        """``fed``: no decode threads; the caller hands decoded samples in with :meth:`feed`
        (the one-pass job decodes each file once, for its thumbnail and for the model)."""
        self.predictor = predictor
        self.cancel = cancel
        self.batch_size = max(1, int(batch_size or predictor.batch_size or 1))
        self.min_size = min_size
        self._device_jpeg = (getattr(predictor, "jpeg_device", None) is not None
                             and hasattr(predictor, "jpeg_samples"))
        self._work: queue.SimpleQueue[WorkItem] = queue.SimpleQueue()
        for item in items:
            self._work.put(item)
        n_decoders = 0 if fed else max(1, decode_threads or default_decode_threads())
        # Enough decoded samples waiting for two batches: the model never starves.
        self._decoded: queue.Queue[Any] = queue.Queue(maxsize=2 * self.batch_size + n_decoders)
        self._results: queue.Queue[Any] = queue.Queue(maxsize=8)
        self._stop = threading.Event()  # set by stop(): everyone leaves without finishing
        self._failure: BaseException | None = None
        self._decoders_left = n_decoders
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._decode_loop, name=f"tag-decode-{i}", daemon=True)
            for i in range(n_decoders)
        ]
        self._threads.append(
            threading.Thread(target=self._infer_loop, name="tag-inference", daemon=True)
        )
        self._started = False
        self._finished = False  # the end of the results was seen (by results() or ready())

    # -- public ---------------------------------------------------------------------------
    def __enter__(self) -> Pipeline:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if not self._started:
            self._started = True
            for t in self._threads:
                t.start()

    def stop(self) -> None:
        """Make every thread leave now (work not yet done stays undone) and wait for them."""
        self._stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join()

    def results(self, timeout: float = _POLL) -> Iterator[list[ImageResult]]:
        """Batches of results as they come; an empty list every ``timeout`` seconds of quiet
        (so the caller can flush writes on time and notice Ctrl-C); ends when all is done or
        the run was cancelled. Raises :class:`InferenceError` if the model failed."""
        self.start()
        while not self._finished:
            try:
                got = self._results.get(timeout=timeout)
            except queue.Empty:
                yield []
                continue
            if got is _DONE:
                self._finished = True
                break
            yield got
        if self._failure is not None:
            raise InferenceError(str(self._failure)) from self._failure

    def feed(self, image_id: int, path: str | None, sample: np.ndarray | None,
             error: str | None = None, timeout: float = _POLL) -> bool:
        """Hand one decoded sample (or its error) to the model; False if the queue stayed full
        for ``timeout`` (drain :meth:`ready` and try again: that is the back-pressure)."""
        self.start()
        try:
            self._decoded.put(_Decoded(image_id, path, sample, error), timeout=timeout)
        except queue.Full:
            return False
        return True

    def end_feed(self, timeout: float = _POLL) -> bool:
        """No more samples will be fed; False if the queue stayed full (try again)."""
        self.start()
        try:
            self._decoded.put(_DONE, timeout=timeout)
        except queue.Full:
            return False
        return True

    @property
    def finished(self) -> bool:
        """The inference thread has ended and every result was taken."""
        return self._finished

    def ready(self) -> list[ImageResult]:
        """The results available now, without waiting (empty at the end of the run).
        Raises :class:`InferenceError` if the model failed."""
        out: list[ImageResult] = []
        while not self._finished:
            try:
                got = self._results.get_nowait()
            except queue.Empty:
                break
            if got is _DONE:
                self._finished = True
                break
            out.extend(got)
        if self._finished and self._failure is not None:
            raise InferenceError(str(self._failure)) from self._failure
        return out

    # -- threads --------------------------------------------------------------------------
    def _leaving(self) -> bool:
        return self._stop.is_set() or self.cancel.is_set()

    def _put(self, q: queue.Queue[Any], item: Any, *, drop_on_cancel: bool = False) -> bool:
        """Put, waiting for room, unless told to stop; False if the item was dropped.

        Decoded samples are dropped on cancel (nobody will run them); results are not, since
        work already done is worth committing.
        """
        while True:
            try:
                q.put(item, timeout=_POLL)
                return True
            except queue.Full:
                if self._stop.is_set() or (drop_on_cancel and self.cancel.is_set()):
                    return False

    def _decode_one(self, item: WorkItem, device: bool = True) -> _Decoded:
        if device and self._device_jpeg:
            found = read_jpeg(item.paths)
            if found is not None:
                return _Decoded(item.image_id, found[0], None, None, known_tags=item.known_tags,
                                jpeg=found[1], item=item)
        try:
            image, path = open_first(item.paths, self.min_size)
        except DecodeError as exc:
            return _Decoded(item.image_id, item.paths[0] if item.paths else None, None, str(exc))
        try:
            sample = np.asarray(self.predictor.preprocess(image))
        except Exception as exc:  # a mode or size the pack's preprocessing cannot take
            return _Decoded(item.image_id, path, None, f"cannot preprocess: {exc}")
        finally:
            image.close()
        return _Decoded(item.image_id, path, sample, None, known_tags=item.known_tags)

    def _decode_loop(self) -> None:
        lower_thread_priority()  # the inference thread must never wait for a core
        try:
            while not self._leaving():
                try:
                    item = self._work.get_nowait()
                except queue.Empty:
                    break
                if not self._put(self._decoded, self._decode_one(item), drop_on_cancel=True):
                    break
        finally:
            with self._lock:
                self._decoders_left -= 1
                last = self._decoders_left == 0
            if last:
                self._put(self._decoded, _DONE, drop_on_cancel=True)

    def _infer_loop(self) -> None:
        batch: list[_Decoded] = []
        shape: tuple[int, ...] | None = None
        try:
            while not self._leaving():
                try:
                    got = self._decoded.get(timeout=_POLL)
                except queue.Empty:
                    continue
                if got is _DONE:
                    if batch and not self.cancel.is_set():
                        self._run(batch)
                    break
                if got.sample is not None and shape is None:
                    shape = got.sample.shape
                if got.sample is not None and got.sample.shape != shape:
                    got = _Decoded(
                        got.image_id, got.path, None,
                        f"preprocessing gave shape {got.sample.shape}, expected {shape}",
                    )
                if got.error is not None:
                    self._put(self._results, [ImageResult(got.image_id, got.path, error=got.error)])
                    continue
                batch.append(got)
                if len(batch) >= self.batch_size:
                    self._run(batch)
                    batch = []
        except BaseException as exc:  # handed to the caller through results()
            self._failure = exc
        finally:
            self._put(self._results, _DONE)

    def _on_device(self, batch: list[_Decoded]) -> list[_Decoded]:
        """Decode the batch's JPEG bytes on the device; what it refuses takes the PIL path.
        Returns the batch's samples; error results are sent on their own."""
        jpegs = [i for i, d in enumerate(batch) if d.jpeg is not None]
        decoded = self.predictor.jpeg_samples([batch[i].jpeg for i in jpegs])  # type: ignore[attr-defined]
        for i, got in zip(jpegs, decoded, strict=True):
            d = batch[i]
            if isinstance(got, str):
                assert d.item is not None
                batch[i] = self._decode_one(d.item, device=False)
            else:
                batch[i] = _Decoded(d.image_id, d.path, got, None, known_tags=d.known_tags)
        for d in batch:
            if d.error is not None:
                self._put(self._results, [ImageResult(d.image_id, d.path, error=d.error)])
        return [d for d in batch if d.error is None]

    def _run(self, batch: list[_Decoded]) -> None:
        device = any(d.jpeg is not None for d in batch)
        if device:
            batch = self._on_device(batch)
            if not batch:
                return
        samples: list[Any] = []
        for d in batch:
            assert d.sample is not None  # only images decoded without an error join a batch
            samples.append(d.sample)
        # [N, ...one sample's layout]; device samples are stacked by the predictor, there
        x = self.predictor.stack(samples) if device else np.stack(samples)  # type: ignore[attr-defined]
        if getattr(self.predictor, "takes_known_tags", False):  # multimodal packs
            known = [d.known_tags for d in batch]
            pred = self.predictor.predict(x, known_tags=known)  # type: ignore[call-arg]
        else:
            pred = self.predictor.predict(x)
        heads = {name: np.asarray(p) for name, p in pred.heads.items()}  # each [N, C]
        emb = None if pred.embedding is None else np.asarray(pred.embedding)  # [N, D]
        modes = getattr(pred, "modes", None)
        out = [
            ImageResult(
                d.image_id, d.path,
                heads={name: p[i] for name, p in heads.items()},
                embedding=None if emb is None else emb[i],
                mode=None if modes is None else modes[i],
                conditioned_on=(d.known_tags if modes is not None and modes[i] == "conditioned"
                                else ()),
            )
            for i, d in enumerate(batch)
        ]
        self._put(self._results, out)
