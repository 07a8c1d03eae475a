"""Storing a pack's results: what is kept of each image's scores, and the batched write.

Kept per image and pack (thresholds apply at read time, so nothing here depends on them):

- character and copyright labels: the best ``TOP_K`` even when they score low (a person
  reviewing a wrong guess wants to see the runners-up), plus every one at or above the floor;
- rating labels: all of them (there are a handful);
- every other label: scores at or above ``FLOOR``;
- the embedding, as float16, when the predictor gives one;
- for a multimodal pack, the mode that answered and the tags it was given (``inference_runs``).

An image's predictions for a pack are replaced wholesale each time that pack runs on it: tags
that no longer score vanish. The write is plain executemany SQL in the writer's transaction,
and ends by refreshing the effective tags of exactly the images written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from animesion_desktop.core.library import LibraryError, effective
from animesion_desktop.core.library.schema import Image, Pack
from animesion_desktop.core.tagging.pipeline import ImageResult

FLOOR = 0.01
TOP_K = 5
TOP_K_CATEGORIES = frozenset({"character", "copyright"})
KEEP_ALL_CATEGORIES = frozenset({"rating"})


class PackGone(LibraryError):
    """The pack was removed while it was running."""


@dataclass(frozen=True)
class HeadVocabulary:
    """One head's labels as library tag ids, with the per-label storage rule."""

    name: str
    tag_ids: np.ndarray  # [C] int64
    keep_all: np.ndarray  # [C] bool: rating labels
    top_k: np.ndarray  # [C] bool: labels that compete for the top-k (characters, copyrights)

    @classmethod
    def build(cls, name: str, tag_ids: Sequence[int], categories: Sequence[str]) -> HeadVocabulary:
        cats = np.asarray(categories, dtype=object)
        return cls(
            name,
            np.asarray(tag_ids, dtype=np.int64),
            np.isin(cats, list(KEEP_ALL_CATEGORIES)),
            np.isin(cats, list(TOP_K_CATEGORIES)),
        )


@dataclass(frozen=True)
class PackVocabulary:
    pack_id: int
    heads: dict[str, HeadVocabulary] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredImage:
    """One image's rows, computed off the writer thread so the write itself is cheap."""

    image_id: int
    error: str | None
    scores: dict[int, float]  # tag id -> score
    embedding: bytes | None
    dim: int
    mode: str | None = None  # multimodal packs: image_only / generate / conditioned
    conditioned_on: tuple[str, ...] = ()  # the tags the model was given, in conditioned mode


def encode_tags(tags: Sequence[str]) -> str | None:
    """``inference_runs.conditioned_on``: the tags given, as a JSON list (None for none)."""
    return json.dumps(list(tags), ensure_ascii=False) if tags else None


def decode_tags(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    return tuple(str(t) for t in value) if isinstance(value, list) else ()


def select_scores(vocab: PackVocabulary, heads: dict[str, np.ndarray]) -> dict[int, float]:
    """Tag id -> score of what is worth keeping for one image (see the module docstring)."""
    kept: dict[int, float] = {}
    for name, raw in heads.items():
        hv = vocab.heads.get(name)
        if hv is None:
            continue  # an output the pack does not describe (none do; be lenient)
        scores = np.nan_to_num(np.asarray(raw, dtype=np.float64).reshape(-1), nan=0.0)
        if scores.shape != hv.tag_ids.shape:
            raise ValueError(
                f"head {name!r}: the model gave {scores.shape[0]} scores for "
                f"{hv.tag_ids.shape[0]} labels"
            )
        keep = (scores >= FLOOR) | hv.keep_all
        candidates = np.flatnonzero(hv.top_k)
        if candidates.size:
            k = min(TOP_K, candidates.size)
            best = np.argpartition(-scores[candidates], k - 1)[:k]
            keep[candidates[best]] = True
        for tag_id, score in zip(hv.tag_ids[keep].tolist(), scores[keep].tolist(), strict=True):
            if score > kept.get(tag_id, -1.0):  # one tag in two heads: keep its best score
                kept[tag_id] = score
    return kept


def prepare(vocab: PackVocabulary, result: ImageResult) -> StoredImage:
    if result.error is not None or result.heads is None:
        return StoredImage(result.image_id, result.error or "no output", {}, None, 0)
    scores = select_scores(vocab, result.heads)
    blob, dim = None, 0
    if result.embedding is not None:
        vec = np.asarray(result.embedding, dtype="<f2").reshape(-1)  # float16, little endian
        blob, dim = vec.tobytes(), int(vec.size)
    return StoredImage(result.image_id, None, scores, blob, dim, result.mode,
                       result.conditioned_on)


def write_batch(session: Session, pack_id: int, batch: Iterable[StoredImage],
                now: float | None = None) -> list[int]:
    """Replace the pack's predictions, run record and embedding of every image in ``batch``
    (one transaction, on the writer); returns the image ids written. Images deleted meanwhile
    (a scan cleaned them up) are skipped; a pack removed meanwhile raises :class:`PackGone`."""
    if session.get(Pack, pack_id) is None:
        raise PackGone(f"pack {pack_id} was removed while it was running")
    items = {s.image_id: s for s in batch}
    if not items:
        return []
    existing = set(
        session.scalars(
            select(Image.id).where(Image.id.in_(bindparam("ids", expanding=True))),
            {"ids": list(items)},
        )
    )
    items = {i: s for i, s in items.items() if i in existing}
    if not items:
        return []
    now = time.time() if now is None else now
    conn: Connection = session.connection()
    # Plain DBAPI executemany with tuples: thousands of rows per batch, no per-row SQL layer.
    keys = [(i, pack_id) for i in items]
    conn.exec_driver_sql("DELETE FROM predictions WHERE image_id = ? AND pack_id = ?", keys)
    conn.exec_driver_sql("DELETE FROM embeddings WHERE image_id = ? AND pack_id = ?", keys)
    conn.exec_driver_sql(
        "INSERT OR REPLACE INTO inference_runs (image_id, pack_id, at, error, mode, "
        "conditioned_on) VALUES (?, ?, ?, ?, ?, ?)",
        [(i, pack_id, now, s.error, s.mode, encode_tags(s.conditioned_on))
         for i, s in items.items()],
    )
    rows = [
        (i, pack_id, tag_id, score)
        for i, s in items.items()
        for tag_id, score in s.scores.items()
    ]
    if rows:
        conn.exec_driver_sql(
            "INSERT INTO predictions (image_id, pack_id, tag_id, score) VALUES (?, ?, ?, ?)", rows
        )
    embeddings = [
        (i, pack_id, s.dim, s.embedding) for i, s in items.items() if s.embedding is not None
    ]
    if embeddings:
        conn.exec_driver_sql(
            "INSERT INTO embeddings (image_id, pack_id, dim, vector) VALUES (?, ?, ?, ?)",
            embeddings,
        )
    effective.refresh_images(conn, items)
    return list(items)
