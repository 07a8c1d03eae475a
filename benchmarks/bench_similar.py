"""Similar-image search benchmark: p95 per query and recall@10 on synthetic embeddings.

    .venv/bin/python benchmarks/bench_similar.py [--sizes 100000,1000000] [--dim 768]
                                                 [--queries 100] [--centers 5000]

Vectors of the real dimension (768: the ViT-B/16 packs' penultimate layer) drawn as a mixture of
``--centers`` Gaussian clusters (a library is many pictures of comparatively few characters and
styles, and uniform random vectors in 768-d have no neighbours worth finding), unit length, like
the index stores them. Queries are held-out vectors from the same mixture. For each size it
prints, for the exact set (one float32 matrix-vector product; the ground truth) and the faiss IVF
set the app uses from ``vectors.IVF_FROM`` vectors: build time, p50/p95 per query (k=10) and
recall@10 against brute force, and the cost of the update a 64-image tagging batch makes (remove
and re-add 64 vectors). Goals: p95 <= 50 ms at 100,000 and <= 200 ms at 1,000,000.
"""

from __future__ import annotations

import argparse
import os
import time

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


def timed(fn, queries: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    results, times = [], []
    for q in queries:
        t = time.perf_counter()
        results.append(fn(q))
        times.append(time.perf_counter() - t)
    return results, np.asarray(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--centers", type=int, default=5000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    centers = vectors.normalize(rng.standard_normal((args.centers, args.dim), dtype=np.float32))
    print(f"dim {args.dim}, {args.centers} clusters, {args.queries} held-out queries, k=10; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for n in (int(s) for s in args.sizes.split(",")):
        t = time.perf_counter()
        x = mixture(n, args.dim, centers, rng)
        q = mixture(args.queries, args.dim, centers, rng)
        ids = np.arange(n, dtype=np.int64)
        print(f"\n{n:,} vectors (drawn in {time.perf_counter() - t:.0f} s)")

        def exact(v: np.ndarray, x: np.ndarray = x) -> np.ndarray:  # what ExactSet.search does
            s = x @ v
            top = np.argpartition(-s, 9)[:10]
            return top[np.argsort(-s[top])]

        truth, ms = timed(exact, q)
        print(f"  exact  (numpy float32)          p50 {np.percentile(ms, 50):6.1f} ms  "
              f"p95 {np.percentile(ms, 95):6.1f} ms  recall@10 1.000")
        t = time.perf_counter()
        ivf = vectors.IvfSet(args.dim, x)
        ivf.add(ids, x)
        build = time.perf_counter() - t
        del x
        default = ivf.nprobe
        for nprobe in sorted({default // 2, default, default * 2}):
            ivf.nprobe = nprobe
            got, ms = timed(lambda v, ivf=ivf: ivf.search(v, 10)[0], q)
            recall = np.mean([len(set(a.tolist()) & set(b.tolist())) / 10
                              for a, b in zip(got, truth, strict=True)])
            chosen = "  <- default" if nprobe == default else ""
            print(f"  ivf    (faiss, {ivf.nlist} cells, nprobe {nprobe:3d}) p50 "
                  f"{np.percentile(ms, 50):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  "
                  f"recall@10 {recall:.3f}{chosen}")
        batch = ids[:64]
        t = time.perf_counter()
        ivf.add(batch, q[:1].repeat(64, axis=0))
        print(f"  ivf build {build:.0f} s; a 64-image tagging batch (remove + add) "
              f"{(time.perf_counter() - t) * 1000:.0f} ms")
        del ivf


if __name__ == "__main__":
    main()
