"""Search benchmark: the example queries of docs/search.md on a synthetic 1,000,000-image library.

    .venv/bin/python benchmarks/bench_search.py [--images N] [--runs 20] [--keep] [--dir DIR]
                                                [--changes 10] [--sql]

The library is synthetic rows, not files: images with sizes, files under two roots, a Zipf-like
vocabulary of general tags plus characters, copyrights, artists, meta and rating tags (~15
effective tags an image, written straight into ``image_tags`` as if materialised), character
scores, some user labels, a few hundred unreadable files. Building it takes a minute or two; with
``--keep`` it is stored in DIR (default: the temp folder) and reused by the next run.

For every example query it prints p50/p95 of a first page (100 ids, newest first) plus the total
count, the cold time (the first query on empty caches, when the bitmaps it needs are built),
with --sql the plain-SQL path (no bitmap index) for comparison, a few other orders, and tag
autocomplete p95.

Then, on a copy of the library (so a kept one stays as built), the time of the first query after
a small change, with the caches otherwise warm, as the GUI meets it: for each query, ``--changes``
times (make the change through the library's writer, run the query once), for two changes:
``label``, one user label accepted on one random image (``Library.set_label``), and ``tagging``,
one tagging commit of 64 images (new predictions of the bench pack, ``store.write_batch``, whose
effective-tag refresh is what a tagging batch commits). Printed: p50/p95 of that next query, and
p50 of the change itself (the writer's commit).
Goals: page + count p95 <= 100 ms; autocomplete p95 <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from animesion_desktop.core.library import Library
from animesion_desktop.core.search import autocomplete, count, index_for, search
from animesion_desktop.core.tagging.store import StoredImage, write_batch

BUILD_VERSION = 2  # bump when the synthetic data changes, so --keep rebuilds

QUERIES = [
    "blue_hair",
    "character:hatsune_miku",
    "-glasses",
    "hat*",
    "*_hair",
    "(red_hair | pink_hair)",
    "width>=1920",
    "height<1080",
    "path:wallpapers/*",
    "is:unreviewed",
    "is:untagged",
    "is:missing",
    "is:error",
    "score<0.5",
    "blue_hair -glasses",
    "long_hair -solo",
    "1girl solo -glasses",
    "blue_hair (red_hair | pink_hair) -glasses",
    "character:*miku* -hat*",
    "*ribbon* width>=1920 score<0.5",
    "rare_tag_1999",
    "rare_tag_1999 -glasses",
    "blue_hair character:hatsune_miku -glasses hat* *_hair (red_hair | pink_hair) width>=1920 "
    "height<1080 path:wallpapers/* is:unreviewed score<0.5",
]
ORDERS = [("blue_hair", "path"), ("", "path"), ("blue_hair", "random"), ("blue_hair", "oldest")]
AUTOCOMPLETE = ["h", "ha", "hai", "hair", "miku", "blue", "rib", "character:", "x", "tag_1"]

COLORS = ["blonde", "black", "blue", "brown", "green", "grey", "orange", "pink", "purple",
          "red", "silver", "white", "aqua", "multicolored"]
# Common tags first (rank = frequency order), then colour x part combinations, then filler.
HEAD = ["1girl", "solo", "long_hair", "looking_at_viewer", "smile", "blush", "open_mouth",
        "short_hair", "simple_background", "bangs", "hat", "skirt", "breasts", "shirt",
        "long_sleeves", "white_background", "blue_eyes", "blue_hair", "ribbon", "hair_ornament",
        "brown_hair", "dress", "black_hair", "red_eyes", "twintails", "holding", "bow",
        "glasses", "jacket", "hair_ribbon", "pink_hair", "red_hair", "witch_hat", "hat_ribbon",
        "hat_bow", "gloves", "closed_mouth", "animal_ears", "ponytail", "standing"]
CHARACTERS = ["hatsune_miku", "hakurei_reimu", "kirisame_marisa", "saber_(fate)", "rem_(re:zero)",
              "megurine_luka", "kagamine_rin", "remilia_scarlet", "flandre_scarlet", "izayoi_sakuya"]
COPYRIGHTS = ["vocaloid", "touhou", "fate_(series)", "re:zero_kara_hajimeru_isekai_seikatsu",
              "original", "kantai_collection", "hololive", "genshin_impact"]
META = ["highres", "absurdres", "commentary", "translated", "lowres", "bad_id", "jpeg_artifacts"]
RATINGS = ["general", "sensitive", "questionable", "explicit"]


def _vocabulary(n_general: int, n_characters: int) -> list[tuple[str, str]]:
    general = list(HEAD)
    for c in COLORS:
        for part in ("hair", "eyes", "ribbon", "dress", "background"):
            name = f"{c}_{part}"
            if name not in general:
                general.append(name)
    i = 0
    while len(general) < n_general:
        general.append(f"tag_{i:04d}")
        i += 1
    general = general[: n_general - 1] + [f"rare_tag_{n_general - 1}"]
    characters = list(CHARACTERS) + [
        f"character_{i:03d}" for i in range(n_characters - len(CHARACTERS))
    ]
    vocab = [("general", n) for n in general]
    vocab += [("character", n) for n in characters]
    vocab += [("copyright", n) for n in COPYRIGHTS + [f"series_{i:02d}" for i in range(42)]]
    vocab += [("artist", f"artist_{i:03d}") for i in range(200)]
    vocab += [("meta", n) for n in META]
    vocab += [("rating", n) for n in RATINGS]
    return vocab


def _zipf(rng: np.random.Generator, n_items: int, size: tuple[int, ...], s: float = 1.0):
    weights = 1.0 / np.arange(1, n_items + 1) ** s
    cdf = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(size)), n_items - 1)


def build(db_path: Path, n_images: int, seed: int = 1) -> dict[str, float]:
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_general, n_characters = 2000, 300
    lib = Library.open(db_path)
    raw = lib.engine.raw_connection()
    try:
        con = raw.driver_connection
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA journal_mode=OFF")
        cur = con.cursor()
        cur.execute("BEGIN")
        vocab = _vocabulary(n_general, n_characters)
        cur.executemany("INSERT INTO tags (id, category, name) VALUES (?, ?, ?)",
                        [(i + 1, c, n) for i, (c, n) in enumerate(vocab)])
        first = {}
        for i, (c, _n) in enumerate(vocab):
            first.setdefault(c, i + 1)
        cur.execute("INSERT INTO roots (id, path, added_at) VALUES "
                    "(1, '/home/user/Pictures/anime', 0), (2, '/mnt/archive', 0)")

        # images: common screen sizes and assorted portraits.
        ids = np.arange(1, n_images + 1)
        sizes = np.array([(1920, 1080), (2560, 1440), (3840, 2160), (1080, 1920), (1280, 720)])
        pick = rng.random(n_images)
        common = rng.integers(0, len(sizes), n_images)
        width = np.where(pick < 0.35, sizes[common, 0], rng.integers(500, 3000, n_images))
        height = np.where(pick < 0.35, sizes[common, 1], rng.integers(600, 4000, n_images))
        has_char = rng.random(n_images) < 0.7
        char_score = np.where(has_char, rng.beta(5, 2, n_images), np.nan)
        base = 1.7e9
        cur.executemany(
            "INSERT INTO images (id, hash, width, height, format, added_at, char_score) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (int(i), f"{int(i):064x}", int(w), int(h), "png" if i % 3 else "jpeg",
                 base + float(i), None if np.isnan(s) else float(s))
                for i, w, h, s in zip(ids, width, height, char_score, strict=True)
            ),
        )
        # files: one a image (3 % have a second copy), 0.5 % missing, plus unreadable files.
        chars = _zipf(rng, n_characters, (n_images,))
        wide = (width >= 1920) & (width > height)
        folder = np.where(wide & (rng.random(n_images) < 0.4), 0, np.where(has_char, 1, 2))
        missing = rng.random(n_images) < 0.005
        names = [v[1] for v in vocab]
        char_names = names[first["character"] - 1 : first["character"] - 1 + n_characters]

        def relpath(i: int, f: int, c: int) -> str:
            if f == 0:
                return f"wallpapers/{i:07d}.png"
            if f == 1:
                return f"characters/{char_names[c]}/{i:07d}.png"
            return f"downloads/{2015 + i % 10}/{i:07d}.jpg"

        rows = []
        for i, f, c, m in zip(ids.tolist(), folder.tolist(), chars.tolist(), missing.tolist(),
                              strict=True):
            rp = relpath(i, f, c)
            rows.append((1 if i % 5 else 2, rp.encode(), rp, 100_000 + i % 5_000_000, 0, i,
                         "missing" if m else "ok", None, 0.0))
            if i % 33 == 0:
                rp2 = f"backup/{rp}"
                rows.append((2, rp2.encode(), rp2, 100_000 + i % 5_000_000, 0, i, "ok", None, 0.0))
        for k in range(500):
            rp = f"downloads/broken/{k:04d}.png"
            rows.append((1, rp.encode(), rp, 10, 0, None, "error", "cannot identify image file", 0.0))
        cur.executemany(
            "INSERT INTO files (root_id, relpath_raw, relpath, size, mtime_ns, image_id, status, "
            "error, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        del rows

        # effective tags: 13 general slots (Zipf, duplicates merge), a character for 70 %,
        # a copyright for 80 %, an artist for half, meta for half, one rating; 1 % untagged.
        parts = [
            (_zipf(rng, n_general, (n_images, 13)) + first["general"], np.ones((n_images, 13), bool)),
            ((chars + first["character"])[:, None], has_char[:, None]),
            (_zipf(rng, 50, (n_images, 1)) + first["copyright"], rng.random((n_images, 1)) < 0.8),
            (_zipf(rng, 200, (n_images, 1)) + first["artist"], rng.random((n_images, 1)) < 0.5),
            (_zipf(rng, len(META), (n_images, 1)) + first["meta"], rng.random((n_images, 1)) < 0.5),
            (rng.integers(0, 4, (n_images, 1)) + first["rating"], np.ones((n_images, 1), bool)),
        ]
        tagged = rng.random(n_images) >= 0.01
        keys = []
        for tag_ids, keep in parts:
            keep = keep & tagged[:, None]
            image_ids = np.broadcast_to(ids[:, None], tag_ids.shape)
            keys.append(tag_ids[keep].astype(np.int64) * (n_images + 1) + image_ids[keep])
        key = np.unique(np.concatenate(keys))
        del keys, parts
        cur.execute("DROP INDEX ix_image_tags_image")
        step = 1_000_000
        for a in range(0, len(key), step):
            chunk = key[a : a + step]
            cur.executemany(
                "INSERT INTO image_tags (tag_id, image_id) VALUES (?, ?)",
                zip((chunk // (n_images + 1)).tolist(), (chunk % (n_images + 1)).tolist(),
                    strict=True),
            )
        n_tags = len(key)
        del key
        cur.execute("CREATE INDEX ix_image_tags_image ON image_tags (image_id, tag_id)")

        # user labels on 5 % of the images, some imports; a pack that predicted characters.
        py_rng = random.Random(seed)
        labelled = py_rng.sample(range(1, n_images + 1), n_images // 20)
        cur.executemany(
            "INSERT OR IGNORE INTO labels (image_id, tag_id, state, source, at) "
            "VALUES (?, ?, ?, ?, 0)",
            [(i, first["general"] + py_rng.randrange(50),
              "accepted" if py_rng.random() < 0.8 else "rejected",
              "user" if k % 4 else "import:booru") for k, i in enumerate(labelled)],
        )
        cur.execute("INSERT INTO packs (id, name, version, sha256, path, active, installed_at, "
                    "info) VALUES (1, 'bench-pack', '1', '', '/dev/null', 1, 0, '{}')")
        cur.execute("INSERT INTO pack_tags (pack_id, tag_id, threshold) "
                    "SELECT 1, id, 0.5 FROM tags WHERE category = 'character'")
        cur.executemany(
            "INSERT INTO predictions (image_id, pack_id, tag_id, score) VALUES (?, 1, ?, ?)",
            [(int(i), int(c) + first["character"], float(s))
             for i, c, s in zip(ids[:100_000], chars[:100_000], char_score[:100_000], strict=True)
             if not np.isnan(s)],
        )
        con.commit()
        con.execute("ANALYZE")
        con.commit()
    finally:
        raw.close()
        lib.close()
    return {"images": n_images, "image_tags": n_tags, "seconds": time.perf_counter() - t0}


def _library(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The DB to use and a temp folder to delete afterwards (None with --keep)."""
    if args.keep:
        folder = Path(args.dir or Path(tempfile.gettempdir()) / "animesion-bench-search")
        cleanup = None
    else:
        folder = Path(tempfile.mkdtemp(prefix="animesion-bench-search-"))
        cleanup = folder
    db = folder / f"lib-{args.images}.sqlite"
    stamp = folder / f"lib-{args.images}.json"
    want = {"version": BUILD_VERSION, "images": args.images}
    if db.exists() and stamp.exists() and json.loads(stamp.read_text()).get("version") == BUILD_VERSION:
        print(f"reusing {db}")
        return db, cleanup
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"lib-{args.images}.sqlite*"):
        old.unlink()
    print(f"building {args.images:,} images in {db} ...", flush=True)
    info = build(db, args.images)
    stamp.write_text(json.dumps({**want, **info}))
    print(f"built: {info['image_tags']:,} effective tags in {info['seconds']:.0f} s")
    return db, cleanup


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _time(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), _pct(times, 0.95)


def _after_changes(db: Path, runs: int, seed: int = 7) -> None:
    """p50/p95 of the first query after a small change (see the module docstring), on a copy."""
    folder = Path(tempfile.mkdtemp(prefix="animesion-bench-changes-"))
    try:
        copy = folder / db.name
        shutil.copyfile(db, copy)
        rng = random.Random(seed)
        with Library.open(copy) as lib:
            n_images = lib.image_count()
            with lib.read() as s:
                general = [r[0] for r in s.connection().exec_driver_sql(
                    "SELECT name FROM tags WHERE category = 'general' ORDER BY id LIMIT 200")]
                characters = [r[0] for r in s.connection().exec_driver_sql(
                    "SELECT tag_id FROM pack_tags WHERE pack_id = 1")]

            def label() -> None:
                lib.set_label([rng.randrange(1, n_images + 1)], rng.choice(general), "accepted")

            def tagging() -> None:
                # Images the bench pack already scored (the first 100,000), as a rerun would.
                first = rng.randrange(1, min(n_images, 100_000) - 64)
                batch = [StoredImage(i, None, {rng.choice(characters): rng.random()}, None, 0)
                         for i in range(first, first + 64)]
                lib.write(lambda s: write_batch(s, 1, batch))

            changes = {"label": label, "tagging": tagging}
            for q in QUERIES:  # warm, as a session that has run these searches before
                search(lib, q, limit=100)
            autocomplete(lib, "hair")
            print(f"\nthe first query after a small change, {runs} times each (ms); change = the "
                  "writer's commit\n" + f"{'query (first page of 100 + total)':<58}"
                  + "".join(f" {name + ' p50':>11} {name + ' p95':>11}" for name in changes))
            spent: dict[str, list[float]] = {name: [] for name in changes}
            worst: dict[str, list[float]] = {name: [] for name in changes}
            for q in [*QUERIES, None]:  # None: autocomplete of "hair"
                line = f"{'autocomplete hair' if q is None else q[:58]:<58}"
                for name, change in changes.items():
                    times = []
                    for _ in range(runs):
                        t = time.perf_counter()
                        change()
                        spent[name].append((time.perf_counter() - t) * 1000)
                        t = time.perf_counter()
                        if q is None:
                            autocomplete(lib, "hair")
                        else:
                            search(lib, q, limit=100)
                        times.append((time.perf_counter() - t) * 1000)
                    worst[name].append(_pct(times, 0.95))
                    line += f" {statistics.median(times):>11.1f} {_pct(times, 0.95):>11.1f}"
                print(line, flush=True)
            print("max p95: " + ", ".join(f"{n} {max(w):.1f} ms" for n, w in worst.items())
                  + "; change p50: " + ", ".join(f"{n} {statistics.median(t):.1f} ms"
                                                 for n, t in spent.items()))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="store the library and reuse it")
    parser.add_argument("--dir", help="where --keep stores the library")
    parser.add_argument("--sql", action="store_true",
                        help="also time the plain-SQL path (no bitmap index); slow")
    parser.add_argument("--changes", type=int, default=10,
                        help="changes per query for the after-a-change figures (0: skip them)")
    args = parser.parse_args(argv)
    db, cleanup = _library(args)
    ok = True
    try:
        with Library.open(db) as lib:
            index = index_for(lib)
            print(f"sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, load average "
                  + " ".join(f"{x:.1f}" for x in os.getloadavg()))
            print(f"\n{'query (first page of 100 + total)':<58} {'hits':>9} {'cold':>7} "
                  f"{'p50':>7} {'p95':>7}" + (f" {'sql p50':>8}" if args.sql else "") + "   (ms)")
            cases = [(q, "newest") for q in QUERIES] + ORDERS
            for q, order in cases:
                label = q if order == "newest" else f"{q or '(everything)'}  [order={order}]"
                index.invalidate()
                t = time.perf_counter()
                first = search(lib, q, limit=100, order=order)
                cold = (time.perf_counter() - t) * 1000
                p50, p95 = _time(lambda q=q, o=order: search(lib, q, limit=100, order=o),
                                 args.runs)
                line = f"{label[:58]:<58} {first.total:>9,} {cold:>7.1f} {p50:>7.1f} {p95:>7.1f}"
                if args.sql:
                    s50, _ = _time(lambda q=q, o=order: search(lib, q, limit=100, order=o,
                                                               index=False), 3)
                    line += f" {s50:>8.1f}"
                goal = p95 <= 100
                ok &= goal
                print(line + ("  PASS" if goal else "  FAIL"), flush=True)
                assert count(lib, q) == first.total
            index.invalidate()
            t = time.perf_counter()
            autocomplete(lib, "hair")
            cold = (time.perf_counter() - t) * 1000
            times = []
            for _ in range(args.runs):
                for text in AUTOCOMPLETE:
                    t = time.perf_counter()
                    autocomplete(lib, text, limit=20)
                    times.append((time.perf_counter() - t) * 1000)
            p95 = _pct(times, 0.95)
            goal = p95 <= 20
            ok &= goal
            print(f"\nautocomplete ({len(AUTOCOMPLETE)} texts x {args.runs}): cold "
                  f"{cold:.1f} ms, p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms  "
                  + ("PASS" if goal else "FAIL"))
        if args.changes:
            _after_changes(db, args.changes)
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
    print("\nall goals met" if ok else "\nsome goals missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
