"""The similar-image index of one pack: its stored embeddings, kept current from the log.

Built from ``embeddings`` once, then :meth:`SimilarIndex.refresh` reads only the
``embedding_log`` rows written since (triggers add one per embedding inserted or deleted: a
tagging batch, a re-tag that replaces vectors, an image deleted with its embeddings by the FK
cascade) and re-reads the current vector of just those images. If the log was pruned past what
the index has seen, it rebuilds. Searching is cosine similarity (vectors are unit length).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, text

from animesion_desktop.core.library import Library, LibraryError
from animesion_desktop.core.similar.vectors import (
    IVF_FROM,
    IvfSet,
    VectorSet,
    make_set,
    normalize,
)

log = logging.getLogger(__name__)
_CHUNK = 20_000


@dataclass(frozen=True)
class Neighbour:
    image_id: int
    score: float  # cosine similarity, 1 = same direction


def default_pack(lib: Library, name: str | None = None) -> tuple[int, str]:
    """(id, name) of the pack whose embeddings to use: ``name``, else the active pack with the
    most stored embeddings."""
    with lib.read() as s:
        if name is not None:
            row = s.execute(text("SELECT id, name FROM packs WHERE name = :n"), {"n": name}).first()
            if row is None:
                raise LibraryError(f"no pack named {name!r}")
            return int(row[0]), str(row[1])
        row = s.execute(text(
            "SELECT p.id, p.name FROM packs p JOIN embeddings e ON e.pack_id = p.id "
            "WHERE p.active GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 1")).first()
    if row is None:
        raise LibraryError("no active pack has stored embeddings (run `animesion tag` first)")
    return int(row[0]), str(row[1])


def _decode(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    return np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), dim)


class SimilarIndex:
    """Nearest neighbours by cosine over one pack's embeddings. Thread-safe."""

    def __init__(self, lib: Library, pack_id: int) -> None:
        self.lib = lib
        self.pack_id = pack_id
        self._lock = threading.Lock()
        self._set: VectorSet | None = None
        self._dim: int | None = None
        self._seq = -1  # highest embedding_log seq applied
        self.rebuilds = 0  # full loads so far (tests check that refreshes stay incremental)

    def __len__(self) -> int:
        return 0 if self._set is None else len(self._set)

    @property
    def dim(self) -> int | None:
        return self._dim

    def refresh(self) -> None:
        """Catch up with every embedding written or deleted since the last refresh."""
        with self._lock, self.lib.read() as s:
            conn = s.connection()  # one read transaction: one consistent snapshot
            top = conn.execute(text("SELECT max(seq), min(seq) FROM embedding_log")).one()
            newest, oldest = (top[0] or 0), top[1]
            if self._set is None or (oldest is not None and oldest > self._seq + 1):
                self._load_all(conn, newest)
                return
            if newest <= self._seq:
                return
            touched = sorted({int(r[0]) for r in conn.execute(text(
                "SELECT DISTINCT image_id FROM embedding_log WHERE seq > :a AND seq <= :b "
                "AND pack_id = :p"), {"a": self._seq, "b": newest, "p": self.pack_id})})
            self._seq = newest
            if not touched:
                return
            self._set.remove(np.asarray(touched, dtype=np.int64))
            for start in range(0, len(touched), _CHUNK):
                chunk = touched[start : start + _CHUNK]
                ids, vecs = self._fetch(conn, "AND image_id IN (SELECT value FROM json_each(:ids))",
                                        {"ids": _json(chunk)})
                if len(ids):
                    self._set.add(ids, vecs)
            vs = self._set
            grown = (len(vs) >= 4 * vs.trained_on if isinstance(vs, IvfSet)
                     else len(vs) >= 2 * IVF_FROM)
            if grown:  # past the exact regime, or the IVF cells are too few now: rebuild
                self._load_all(conn, newest)

    def _fetch(self, conn: Connection, where: str, params: dict[str, object]
               ) -> tuple[np.ndarray, np.ndarray]:
        rows = conn.execute(text(
            f"SELECT image_id, dim, vector FROM embeddings WHERE pack_id = :p {where}"),
            {"p": self.pack_id, **params}).all()
        if self._dim is None and rows:
            self._dim = int(rows[0][1])
        good = [r for r in rows if r[1] == self._dim and len(r[2]) == 2 * r[1]]
        if len(good) < len(rows):
            log.warning("pack %s: %d embeddings of another size skipped", self.pack_id,
                        len(rows) - len(good))
        if not good:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self._dim or 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in good), dtype=np.int64, count=len(good))
        assert self._dim is not None
        return ids, normalize(_decode([r[2] for r in good], self._dim))

    def _load_all(self, conn: Connection, newest: int) -> None:
        self.rebuilds += 1
        self._dim = None
        id_parts, vec_parts = [], []
        last = -1
        while True:  # keyset pages: memory stays at one page of rows plus the float32 result
            ids, vecs = self._fetch(conn, "AND image_id > :last ORDER BY image_id LIMIT :n",
                                    {"last": last, "n": _CHUNK})
            if not len(ids):
                break
            id_parts.append(ids)
            vec_parts.append(vecs)
            last = int(ids[-1])
        dim = self._dim or 0
        all_ids = np.concatenate(id_parts) if id_parts else np.zeros(0, dtype=np.int64)
        all_vecs = np.concatenate(vec_parts) if vec_parts else np.zeros((0, dim), np.float32)
        self._set = make_set(dim, all_ids, all_vecs)
        self._seq = newest

    # -- queries ----------------------------------------------------------------------------
    def vector(self, image_id: int) -> np.ndarray | None:
        """The unit embedding of one image, read from the library (None if it has none)."""
        with self.lib.read() as s:
            row = s.execute(text("SELECT dim, vector FROM embeddings WHERE image_id = :i AND "
                                 "pack_id = :p"), {"i": image_id, "p": self.pack_id}).first()
        if row is None or len(row[1]) != 2 * row[0]:
            return None
        return normalize(_decode([row[1]], int(row[0])))[0]

    def vectors(self, image_ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids that have one, their unit embeddings) for many images."""
        ids = sorted(set(image_ids))
        out_ids, out_vecs = [], []
        with self.lib.read() as s:
            conn = s.connection()
            for start in range(0, len(ids), _CHUNK):
                got = self._fetch(conn, "AND image_id IN (SELECT value FROM json_each(:ids))",
                                  {"ids": _json(ids[start : start + _CHUNK])})
                out_ids.append(got[0])
                out_vecs.append(got[1])
        if not out_ids or not sum(len(i) for i in out_ids):
            return np.zeros(0, dtype=np.int64), np.zeros((0, self._dim or 0), dtype=np.float32)
        return np.concatenate(out_ids), np.concatenate(out_vecs)

    def search(self, query: np.ndarray, k: int = 10, exclude: Iterable[int] = ()
               ) -> list[Neighbour]:
        """The ``k`` nearest images to a vector, best first, leaving out ``exclude``."""
        if self._set is None:
            self.refresh()
        assert self._set is not None
        skip = set(exclude)
        q = normalize(np.asarray(query, dtype=np.float32).reshape(-1))
        if self._dim is not None and q.shape[0] != self._dim:
            raise LibraryError(f"a query vector of {q.shape[0]} values for a "
                               f"{self._dim}-value index")
        with self._lock:
            ids, scores = self._set.search(q, k + len(skip))
        out = [Neighbour(int(i), float(s)) for i, s in zip(ids, scores, strict=True)
               if int(i) not in skip]
        return out[:k]

    def similar_to(self, image_ids: Sequence[int], k: int = 10) -> list[Neighbour]:
        """The nearest images to one image (or the mean direction of several), not themselves."""
        _ids, vecs = self.vectors(image_ids)
        if not len(vecs):
            raise LibraryError("no embedding for that image in this pack (is it tagged?)")
        return self.search(vecs.mean(axis=0), k, exclude=image_ids)

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self._set, IvfSet) else "exact"


def _json(ids: Sequence[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


_SHARED: weakref.WeakKeyDictionary[Library, dict[int, SimilarIndex]] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def shared_index(lib: Library, pack_id: int) -> SimilarIndex:
    """The one index of ``lib``'s pack, caught up with the library (what searches and the app
    use: built once, then each call reads only what changed since)."""
    with _SHARED_LOCK:
        by_pack = _SHARED.setdefault(lib, {})
        index = by_pack.get(pack_id)
        if index is None:
            index = by_pack[pack_id] = SimilarIndex(lib, pack_id)
    index.refresh()
    return index

