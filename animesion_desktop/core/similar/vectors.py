"""Two ways to hold unit vectors for cosine nearest-neighbour search, chosen by size.

- :class:`ExactSet`: a float32 matrix searched by one matrix-vector product (exact). Removal
  swaps the last row in, so adds and deletions cost O(1) rows.
- :class:`IvfSet`: faiss ``IndexIVFScalarQuantizer`` (inverted lists over k-means cells, vectors
  kept as float16 like the library stores them, inner product). A query scans ``nprobe`` of the
  cells, so it stays fast on a million images; recall@10 against brute force is printed by
  benchmarks/bench_similar.py. faiss supports adding and removing ids without retraining.

:func:`make_set` picks by size (:data:`IVF_FROM`, set from that benchmark).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

# Below this many vectors brute force is exact and under 50 ms p95 even on a loaded 2-core CPU.
IVF_FROM = 20_000


class VectorSet(Protocol):
    dim: int

    def __len__(self) -> int: ...
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: np.ndarray) -> None: ...
    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (zero rows stay zero)."""
    x = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


class ExactSet:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._x = np.zeros((0, dim), dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._n = 0
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return self._n

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add (or replace) rows; ``vectors`` must be unit length already."""
        self.remove(ids)
        m = len(ids)
        if self._n + m > len(self._ids):  # grow geometrically: amortised O(1) per row
            cap = max(1024, 2 * (self._n + m))
            x = np.zeros((cap, self.dim), dtype=np.float32)
            x[: self._n] = self._x[: self._n]
            i = np.zeros(cap, dtype=np.int64)
            i[: self._n] = self._ids[: self._n]
            self._x, self._ids = x, i
        self._x[self._n : self._n + m] = vectors
        self._ids[self._n : self._n + m] = ids
        for offset, image_id in enumerate(ids.tolist()):
            self._row[image_id] = self._n + offset
        self._n += m

    def remove(self, ids: np.ndarray) -> None:
        for image_id in ids.tolist():
            row = self._row.pop(image_id, None)
            if row is None:
                continue
            last = self._n - 1
            if row != last:
                moved = int(self._ids[last])
                self._x[row] = self._x[last]
                self._ids[row] = moved
                self._row[moved] = row
            self._n = last

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosine scores) of the ``k`` nearest, best first."""
        if self._n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self._x[: self._n] @ query.astype(np.float32)
        k = min(k, self._n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return self._ids[top].copy(), scores[top]


class IvfSet:
    def __init__(self, dim: int, training: np.ndarray, *, nprobe: int | None = None) -> None:
        import faiss  # imported here: the exact set (small libraries) does not need it

        self.dim = dim
        n = len(training)
        self.trained_on = n
        self.nlist = max(16, min(4096, int(2 * math.sqrt(max(n, 1)))))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, self.nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        index.cp.niter = 10  # k-means iterations: cells only steer the search, recall is measured
        # faiss wants >= 39 points per cell to train well; a seeded sample keeps it quick.
        sample = min(n, 40 * self.nlist)
        rng = np.random.default_rng(0)
        pick = rng.choice(n, size=sample, replace=False) if sample < n else np.arange(n)
        index.train(np.ascontiguousarray(training[pick], dtype=np.float32))
        # Cells probed (bench_similar, 768-d mixture, load 8-12): at 100k a quarter of 632
        # cells gives recall@10 0.975 (an eighth 0.936); at 1M a 32nd of 2000 gives 0.993
        # (p95 35 ms; a 16th: 0.998, p95 55-107 ms), so the 200 ms goal holds under load.
        index.nprobe = nprobe or max(16, self.nlist // 4 if n < 300_000 else self.nlist // 32)
        # A hash table from id to list slot: removing a tagging batch's 64 ids then touches
        # 64 slots instead of scanning every list (983 ms -> a few ms at 1M).
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        self._index = index
        self._faiss = faiss
        self._n = 0

    @property
    def nprobe(self) -> int:
        return int(self._index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._index.nprobe = value

    def __len__(self) -> int:
        return self._n

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.remove(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                 np.ascontiguousarray(ids, dtype=np.int64))
        self._n = int(self._index.ntotal)

    def remove(self, ids: np.ndarray) -> None:
        if len(ids) and self._n:
            arr = np.ascontiguousarray(ids, dtype=np.int64)
            # IDSelectorArray: the one the hash-table direct map can remove with
            self._index.remove_ids(self._faiss.IDSelectorArray(len(arr), self._faiss.swig_ptr(arr)))
            self._n = int(self._index.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        # One query gains nothing from OpenMP's threads and loses to their spinning on a busy
        # machine (bench_similar at 1M: p50 15 ms on one thread, 27 ms on two); this thread's
        # setting only, put back after, so builds keep every core.
        threads = self._faiss.omp_get_max_threads()
        self._faiss.omp_set_num_threads(1)
        try:
            scores, ids = self._index.search(
                np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, self._n))
        finally:
            self._faiss.omp_set_num_threads(threads)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]


def make_set(dim: int, ids: np.ndarray, vectors: np.ndarray) -> VectorSet:
    """The right set for this many vectors, filled with them (unit length already)."""
    vs: VectorSet = ExactSet(dim) if len(ids) < IVF_FROM else IvfSet(dim, vectors)
    if len(ids):
        vs.add(ids, vectors)
    return vs
