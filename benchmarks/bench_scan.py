"""Scan throughput and rescan speed. Prints figures and PASS/FAIL against the goals; asserts nothing.

1. First scan of N 1600x1200 JPEGs (quality 90, random drawn-art content: colour fields, flat
   shapes, outlines) into a fresh library, thumbnails included, against a naive loop doing the
   same work one file at a time: read + SHA-256, full decode, ``thumbnail(256)``, save.
   Goal: at least 4x the naive rate (wall clock). Both run twice, alternately; the best run of
   each counts. CPU time per file is printed too: it shows the work saved whatever the load of
   the machine, while the wall-clock ratio also needs idle cores for the threads.
   To explain the ratio, the work every new file needs is also timed piece by piece on one
   thread (hash, draft decode, resize to 256, JPEG encode + atomic write of the thumbnail), and
   the ceiling it puts on the speed-up is printed: cores x naive CPU per file / that work. With
   perfect scaling and nothing else (no database, no threads), a scan could not do better.
2. Rescan of 100,000 unchanged files. Goal: at most 10 s.

Usage: python benchmarks/bench_scan.py [--files 200] [--rescan-files 100000] [--workers N]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import text

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.core.scan.scanner import default_workers

SPEEDUP_GOAL = 4.0
RESCAN_GOAL_S = 10.0


def drawing(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Random-ish drawn art: a soft colour field, flat-filled shapes with dark outlines, lines."""
    w, h = size
    field = Image.merge("RGB", [Image.effect_noise((8, 6), rng.uniform(30, 60)) for _ in range(3)])
    im = field.resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(im)
    ink = (20, 15, 25)
    for _ in range(rng.randrange(25, 45)):
        x0, y0 = rng.randrange(-200, w), rng.randrange(-200, h)
        x1, y1 = x0 + rng.randrange(40, 700), y0 + rng.randrange(40, 700)
        fill = tuple(rng.randrange(256) for _ in range(3))
        width = rng.randrange(2, 6)
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=fill, outline=ink, width=width)
        else:
            points = [(rng.randrange(x0, x1), rng.randrange(y0, y1)) for _ in range(rng.randrange(3, 7))]
            draw.polygon(points, fill=fill, outline=ink, width=width)
    for _ in range(60):
        draw.line([(rng.randrange(w), rng.randrange(h)) for _ in range(3)], fill=ink, width=2)
    return im.filter(ImageFilter.SMOOTH)  # anti-aliased edges, as drawing programs produce


def make_jpegs(folder: Path, n: int, size: tuple[int, int] = (1600, 1200)) -> list[Path]:
    folder.mkdir(parents=True)
    rng = random.Random(0)
    paths = []
    for i in range(n):
        path = folder / f"{i:04d}.jpg"
        drawing(rng, size).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process, all threads) of fn(*args)."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def naive(paths: list[Path], out: Path) -> None:
    """The obvious loop: full decode, thumbnail, save, hash; one file at a time."""
    out.mkdir()
    for p in paths:
        data = p.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        with Image.open(p) as im:
            rgb = im.convert("RGB")  # full-size decode
        rgb.thumbnail((256, 256))
        rgb.save(out / f"{digest}.jpg", "JPEG", quality=85)


def ours(paths: list[Path], folder: Path, lib_path: Path, workers: int | None) -> tuple[float, float]:
    """Time scan_roots alone (the library is opened, migrated and closed outside the timing)."""
    with Library.open(lib_path) as lib:
        wall, cpu = timed(lambda: run_to_end(
            scan_roots(lib, [folder], threading.Event(), workers=workers)))
        with lib.read() as s:
            indexed = s.execute(text("SELECT COUNT(*) FROM files WHERE status = 'ok'")).scalar()
        thumbs = sum(1 for _ in lib.location.thumbs_dir.rglob("*.jpg"))
    assert indexed == len(paths) and thumbs == len(paths), (indexed, thumbs)
    return wall, cpu


def required_work(paths: list[Path], out: Path) -> dict[str, float]:
    """CPU seconds per file, on this thread, of each piece of work a new file needs."""
    from animesion_desktop.core.scan.hashing import read_and_hash
    from animesion_desktop.core.scan.thumbnails import fit, make_thumbnail, save_thumbnail

    cost = dict.fromkeys(("hash", "decode", "resize", "thumbnail write"), 0.0)
    for i, p in enumerate(paths):
        c0 = time.process_time()
        _, data = read_and_hash(os.fsencode(p), p.stat().st_size)
        c1 = time.process_time()
        with Image.open(io.BytesIO(data)) as im:  # draft decode alone
            im.draft("RGB", fit(im.size))
            im.load()
        c2 = time.process_time()
        with Image.open(io.BytesIO(data)) as im:  # draft decode + resize (+ orientation)
            thumb = make_thumbnail(im)
        c3 = time.process_time()
        save_thumbnail(thumb, out / f"{i}.jpg")
        c4 = time.process_time()
        cost["hash"] += c1 - c0
        cost["decode"] += c2 - c1
        cost["resize"] += (c3 - c2) - (c2 - c1)
        cost["thumbnail write"] += c4 - c3
    return {k: v / len(paths) for k, v in cost.items()}


def make_unchanged_tree(root: Path, n: int, per_folder: int = 1000) -> int:
    """n copies of one small PNG in n/per_folder folders; returns the number written."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 30, 200)).save(buf, "PNG")
    data = buf.getvalue()
    written = 0
    for d in range((n + per_folder - 1) // per_folder):
        sub = root / f"d{d:03d}"
        sub.mkdir(parents=True)
        for i in range(min(per_folder, n - written)):
            with open(sub / f"{i:04d}.png", "wb") as f:
                f.write(data)
            written += 1
    return written


def preindex(lib: Library, root: Path) -> int:
    """Insert image + file rows in bulk, as an earlier scan would have left them."""
    root_id = lib.add_root(root)
    image_hash = hashlib.sha256(next(root.rglob("*.png")).read_bytes()).hexdigest()
    rows = []
    base = os.fsencode(root)
    for sub in sorted(os.scandir(base), key=lambda e: e.name):
        for e in os.scandir(sub.path):
            st = e.stat()
            rel = e.path[len(base) + 1:]
            rows.append({"root": root_id, "raw": rel, "rel": os.fsdecode(rel),
                         "size": st.st_size, "mtime": st.st_mtime_ns})
    now = time.time()

    def insert(session) -> None:
        conn = session.connection()
        conn.execute(text("INSERT INTO images (hash, width, height, format, added_at) "
                          "VALUES (:h, 8, 8, 'PNG', :now)"), {"h": image_hash, "now": now})
        image_id = conn.execute(text("SELECT id FROM images WHERE hash = :h"),
                                {"h": image_hash}).scalar()
        conn.execute(
            text("INSERT INTO files (root_id, relpath_raw, relpath, size, mtime_ns, image_id, "
                 "status, seen_at) VALUES (:root, :raw, :rel, :size, :mtime, :image, 'ok', :now)"),
            [{**r, "image": image_id, "now": now} for r in rows],
        )

    lib.write(insert)
    return len(rows)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--rescan-files", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    workers = args.workers or default_workers()
    print(f"cpu cores: {os.cpu_count()}, scan workers: {workers}, python {sys.version.split()[0]}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        tmp_path = Path(tmp)

        print(f"\n[1] first scan of {args.files} JPEGs, 1600x1200, quality 90")
        t = time.perf_counter()
        paths = make_jpegs(tmp_path / "jpegs", args.files)
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(f"    generated in {time.perf_counter() - t:.1f} s ({size_mb:.0f} MB, in page cache)")
        runs_naive, runs_ours = [], []
        for r in range(2):
            runs_naive.append(timed(naive, paths, tmp_path / f"naive-thumbs{r}"))
            runs_ours.append(ours(paths, tmp_path / "jpegs", tmp_path / f"lib1-{r}.sqlite",
                                  args.workers))
        (wall_naive, cpu_naive), (wall_ours, cpu_ours) = min(runs_naive), min(runs_ours)
        k = 1000 / args.files
        speedup = wall_naive / wall_ours
        print(f"    naive loop (full decode, thumbnail, save, sha256): {args.files / wall_naive:6.1f} "
              f"files/s  ({cpu_naive * k:.1f} ms CPU per file)")
        print(f"    scan_roots (draft decode, {workers} threads, DB writes): {args.files / wall_ours:6.1f} "
              f"files/s  ({cpu_ours * k:.1f} ms CPU per file, all threads)")
        print(f"    work saved: {cpu_naive / cpu_ours:.1f}x less CPU per file; load average during "
              f"the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"    speed-up {speedup:.1f}x (goal >= {SPEEDUP_GOAL:.0f}x): {verdict(speedup >= SPEEDUP_GOAL)}")
        ok &= speedup >= SPEEDUP_GOAL
        work = required_work(paths, tmp_path / "pieces")
        needed = sum(work.values())
        cores = os.cpu_count() or 1
        print("    work each new file needs, one thread: " + ", ".join(
            f"{k} {v * 1000:.2f}" for k, v in work.items()) + f" = {needed * 1000:.1f} ms CPU")
        print(f"    ceiling of the speed-up on {cores} cores (perfect scaling, no database): "
              f"{cores * cpu_naive / args.files / needed:.1f}x")

        n = args.rescan_files
        print(f"\n[2] rescan of {n:,} unchanged files")
        print("    method: one 8x8 PNG written n times into folders of 1,000; the library gets "
              "matching rows\n    (root, relpath_raw, size, mtime_ns from os.stat) inserted in "
              "bulk; then scan_roots is timed")
        t = time.perf_counter()
        written = make_unchanged_tree(tmp_path / "many", n)
        with Library.open(tmp_path / "lib2.sqlite") as lib:
            rows = preindex(lib, tmp_path / "many")
            print(f"    prepared {written:,} files and {rows:,} rows in {time.perf_counter() - t:.1f} s")
            t = time.perf_counter()
            summary = run_to_end(scan_roots(lib, [tmp_path / "many"], threading.Event()))
            t_rescan = time.perf_counter() - t
        print(f"    {summary.line()}; files hashed: {summary.hashed}")
        good = summary.unchanged == n and summary.hashed == 0 and t_rescan <= RESCAN_GOAL_S
        print(f"    rescan {t_rescan:.2f} s ({n / t_rescan:,.0f} files/s; goal <= "
              f"{RESCAN_GOAL_S:.0f} s): {verdict(good)}")
        ok &= good
    print(f"\noverall: {verdict(ok)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
