"""Similar-image search benchmark: p95 per query and recall@10 on synthetic embeddings.

    .venv/bin/python benchmarks/bench_similar.py [--sizes 100000,1000000] [--dim 768]
        [--queries 100] [--centers 5000] [--exact-queries 20] [--no-flat] [--hnsw-upto 100000]

Vectors of the real dimension (768: the ViT-B/16 packs' penultimate layer) drawn as a mixture of
``--centers`` Gaussian clusters (a library is many pictures of comparatively few characters and
styles, and uniform random vectors in 768-d have no neighbours worth finding), unit length, like
the index stores them. Queries are held-out vectors from the same mixture; the ground truth is
brute force over all of them (one batched product).

For each size it prints: brute force per query (numpy float32, what ``ExactSet`` does); the
faiss IVF set the app uses from ``vectors.IVF_FROM`` vectors (float16 codes) with several
``nprobe`` values, with faiss's OpenMP at one thread and at every core; the same cells with
float32 vectors (IVF-Flat; twice the memory); HNSW (float32, M=32) up to ``--hnsw-upto``
vectors; p50/p95 per query (k=10) and recall@10 against brute force; and the cost of the update
a 64-image tagging batch makes. Goals: p95 <= 50 ms at 100,000 and <= 200 ms at 1,000,000.
The load average is printed before and after each size: other work on the machine shows in
the p95 much more than in the p50.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from animesion_desktop.core.similar import vectors


def mixture(n: int, dim: int, centers: np.ndarray, rng: np.random.Generator,
            spread: float = 1.0) -> np.ndarray:
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        x = centers[rng.integers(0, len(centers), m)]
        # noise as long as the centre: two pictures of one cluster have cosine ~0.5
        x += spread * rng.standard_normal((m, dim), dtype=np.float32) / np.sqrt(dim)
        out[start : start + m] = vectors.normalize(x)
    return out


def timed(fn: Callable[[np.ndarray], np.ndarray], queries: np.ndarray
          ) -> tuple[list[np.ndarray], np.ndarray]:
    results, times = [], []
    for q in queries:
        t = time.perf_counter()
        results.append(fn(q))
        times.append(time.perf_counter() - t)
    return results, np.asarray(times) * 1000


def ground_truth(x: np.ndarray, q: np.ndarray, k: int = 10) -> list[np.ndarray]:
    top = []
    for start in range(0, len(q), 25):
        s = q[start : start + 25] @ x.T  # [25, N]
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        for row, cand in zip(s, part, strict=True):
            top.append(cand[np.argsort(-row[cand])])
    return top


def recall(got: list[np.ndarray], truth: list[np.ndarray]) -> float:
    return float(np.mean([len(set(a.tolist()) & set(b.tolist())) / 10
                          for a, b in zip(got, truth, strict=True)]))


def report(label: str, ms: np.ndarray, rec: float, note: str = "") -> None:
    print(f"  {label:<44} p50 {np.percentile(ms, 50):7.1f} ms  p95 "
          f"{np.percentile(ms, 95):7.1f} ms  recall@10 {rec:.3f}{note}", flush=True)


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--centers", type=int, default=5000)
    ap.add_argument("--exact-queries", type=int, default=20,
                    help="queries timed for brute force (each reads every vector)")
    ap.add_argument("--no-flat", action="store_true", help="skip the float32 IVF-Flat variant")
    ap.add_argument("--hnsw-upto", type=int, default=100_000,
                    help="build HNSW only up to this many vectors (its build is slow)")
    args = ap.parse_args()
    import faiss

    cores = faiss.omp_get_max_threads()
    rng = np.random.default_rng(0)
    centers = vectors.normalize(rng.standard_normal((args.centers, args.dim), dtype=np.float32))
    print(f"dim {args.dim}, {args.centers} clusters, {args.queries} held-out queries, k=10; "
          f"{os.cpu_count()} CPUs, faiss {faiss.__version__} ({faiss.get_compile_options().strip()}"
          f"), {load()}", flush=True)
    for n in (int(s) for s in args.sizes.split(",")):
        t = time.perf_counter()
        x = mixture(n, args.dim, centers, rng)
        q = mixture(args.queries, args.dim, centers, rng)
        ids = np.arange(n, dtype=np.int64)
        truth = ground_truth(x, q)
        print(f"\n{n:,} vectors (drawn, truth in {time.perf_counter() - t:.0f} s; {load()})",
              flush=True)

        def exact(v: np.ndarray, x: np.ndarray = x) -> np.ndarray:  # what ExactSet.search does
            s = x @ v
            top = np.argpartition(-s, 9)[:10]
            return top[np.argsort(-s[top])]

        got, ms = timed(exact, q[: args.exact_queries])
        report(f"exact (numpy float32, {len(got)} queries)", ms,
               recall(got, truth[: len(got)]))

        t = time.perf_counter()
        ivf = vectors.IvfSet(args.dim, x)
        ivf.add(ids, x)
        build = time.perf_counter() - t
        default = ivf.nprobe
        probes = sorted({max(8, default // 4), default // 2, default, default * 2})
        for threads in sorted({1, cores}):
            faiss.omp_set_num_threads(threads)
            for nprobe in probes:
                ivf.nprobe = nprobe
                got, ms = timed(lambda v, ivf=ivf: ivf.search(v, 10)[0], q)
                chosen = "  <- the app" if nprobe == default and threads == 1 else ""
                report(f"ivf fp16 ({ivf.nlist} cells, nprobe {nprobe}, {threads} thr)", ms,
                       recall(got, truth), chosen)
        faiss.omp_set_num_threads(cores)
        ivf.nprobe = default
        batch = ids[:64]
        t = time.perf_counter()
        ivf.add(batch, q[:1].repeat(64, axis=0))
        print(f"  ivf fp16 build {build:.0f} s; a 64-image tagging batch (remove + add) "
              f"{(time.perf_counter() - t) * 1000:.0f} ms", flush=True)

        if not args.no_flat:  # the same cells, float32 vectors; assignment computed once
            t = time.perf_counter()
            index = ivf._index
            quantizer = faiss.downcast_index(index.quantizer)
            flat = faiss.IndexIVFFlat(quantizer, args.dim, ivf.nlist, faiss.METRIC_INNER_PRODUCT)
            for start in range(0, n, 100_000):
                chunk = np.ascontiguousarray(x[start : start + 100_000])
                _d, assign = quantizer.search(chunk, 1)
                assign = np.ascontiguousarray(assign.ravel(), dtype=np.int64)
                cids = np.ascontiguousarray(ids[start : start + len(chunk)])
                flat.add_core(len(chunk), faiss.swig_ptr(chunk), faiss.swig_ptr(cids),
                              faiss.swig_ptr(assign))
            print(f"  ivf float32 filled in {time.perf_counter() - t:.0f} s", flush=True)
            faiss.omp_set_num_threads(1)
            for nprobe in probes:
                flat.nprobe = nprobe

                def search_flat(v: np.ndarray, flat=flat) -> np.ndarray:
                    return flat.search(v.reshape(1, -1), 10)[1][0]

                got, ms = timed(search_flat, q)
                report(f"ivf float32 ({ivf.nlist} cells, nprobe {nprobe}, 1 thr)", ms,
                       recall(got, truth))
            faiss.omp_set_num_threads(cores)
            del flat
        del ivf

        if n <= args.hnsw_upto:
            t = time.perf_counter()
            hnsw = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 40
            hnsw.add(x)
            print(f"  hnsw built in {time.perf_counter() - t:.0f} s (M=32, efConstruction 40)",
                  flush=True)
            faiss.omp_set_num_threads(1)
            for ef in (32, 64, 128):
                hnsw.hnsw.efSearch = ef

                def search_hnsw(v: np.ndarray, hnsw=hnsw) -> np.ndarray:
                    return hnsw.search(v.reshape(1, -1), 10)[1][0]

                got, ms = timed(search_hnsw, q)
                report(f"hnsw float32 (efSearch {ef}, 1 thr)", ms, recall(got, truth))
            faiss.omp_set_num_threads(cores)
            del hnsw
        del x
        print(f"  ({load()})", flush=True)


if __name__ == "__main__":
    main()
