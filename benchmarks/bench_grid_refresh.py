"""What a grid refresh costs on the GUI thread: the model's diff against a reset. Prints figures;
asserts nothing.

A grid holding N ids (all pages loaded) gets a fresh answer to the same query with K new ids
on top (newest first, as the watcher delivers them) and K ids gone. ``update`` applies it as
removals and insertions, keeping selection and scroll; ``reset`` is what the first cut did. A
QListView is attached, so the cost includes the view's bookkeeping (selection, layout marks),
not painting (offscreen, never shown).

Usage: python benchmarks/bench_grid_refresh.py [--ids 2000,100000] [--changes 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from animesion_desktop.ui.grid_view import GridView  # noqa: E402
from animesion_desktop.ui.image_model import ImageListModel  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ids", default="2000,100000", help="grid sizes, comma separated")
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(f"cpu cores: {os.cpu_count()}; {args.changes} new + {args.changes} gone per "
          f"refresh; best of {args.repeat}")
    for n in (int(x) for x in args.ids.split(",")):
        bench(app, n, args.changes, args.repeat)


def bench(app: QApplication, n_ids: int, changes: int, repeat: int) -> None:
    rng = random.Random(0)
    model = ImageListModel(32, page_size=n_ids)
    view = GridView(model, 32)
    view.resize(800, 600)
    base = list(range(n_ids, 0, -1))
    model.reset(base, len(base))
    view.selectionModel().select(model.index(n_ids // 2),
                                 view.selectionModel().SelectionFlag.Select)
    next_id = n_ids + 1
    diffs, resets = [], []
    for _ in range(repeat):
        ids = model.ids
        gone = set(rng.sample(ids, changes))
        fresh = list(range(next_id + changes - 1, next_id - 1, -1))
        next_id += changes
        target = fresh + [i for i in ids if i not in gone]
        t = time.perf_counter()
        model.update(target, len(target))
        app.processEvents()
        diffs.append(time.perf_counter() - t)
        assert model.ids == target
        t = time.perf_counter()
        model.reset(target, len(target))
        app.processEvents()
        resets.append(time.perf_counter() - t)
    print(f"grid of {n_ids:,} ids: update (diff, keeps selection and scroll) "
          f"{min(diffs) * 1000:7.1f} ms; reset (drops them) {min(resets) * 1000:7.1f} ms")
    view.deleteLater()


if __name__ == "__main__":
    main()
