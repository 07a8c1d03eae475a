"""Does the app's conditioned mode pay off? A trained multimodal pack, run by the app.

Takes a run of ``bench_vilt_tags.py`` (or ``animesion-train train --multimodal``): installs its
pack into a fresh library, scans the run's data set and tags it (image only, tags generated),
scores the stored character guesses of the test split, then accepts each image's ground-truth tags
as user labels, runs the tagging job again (which re-runs exactly those images, conditioned)
and scores again. Also prints the stored generated tags' precision / recall / F1 at the pack's
threshold against the ground truth. CPU only; the figures depend on the machine's load.

    python benchmarks/bench_vilt_app.py RUN [--split test] [--tags-given 4]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import threading
import time
from pathlib import Path

from animesion_desktop.core.image_view import image_view
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.core.tagging import tag_images
from animesion_desktop.core.tagging.packs_registry import install


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path, help="a multimodal training run (pack/, splits.json)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--tags-given", type=int, default=0,
                        help="accept only the first N ground-truth tags per image (0: all)")
    args = parser.parse_args()
    splits = json.loads((args.run / "splits.json").read_text())["splits"][args.split]
    data = Path(next(line.split(":", 1)[1].strip()
                     for line in (args.run / "config.yaml").read_text().splitlines()
                     if line.startswith("data:")))
    truth = {}
    with (data / "labels.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            truth[row["path"]] = (row["character"], row["tags"].split())
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library.open(Path(tmp) / "lib.sqlite")
        try:
            install(lib, args.run / "pack")
            lib.add_root(data)
            run_to_end(scan_roots(lib, [data], threading.Event()))
            ids = {}
            for rel in splits:
                image_id = lib.image_for_path(str(data / rel))
                assert image_id is not None, rel
                ids[image_id] = rel
            started = time.monotonic()
            first = run_to_end(tag_images(lib, None, threading.Event()))  # the whole data set
            print(f"image only: {first.tagged} images in {time.monotonic() - started:.1f} s")
            report(lib, ids, truth, "image only, tags generated")
            by_tag: dict[str, list[int]] = {}
            for image_id, rel in ids.items():
                tags = truth[rel][1][: args.tags_given or None]
                for tag in tags:
                    by_tag.setdefault(tag, []).append(image_id)
            for tag, images in by_tag.items():
                lib.set_label(images, tag, "accepted")
            started = time.monotonic()
            second = run_to_end(tag_images(lib, None, threading.Event()))
            (run,) = second.runs
            print(f"after accepting the ground-truth tags: {run.tagged} images re-run "
                  f"({run.retagged} because their tags changed, {run.conditioned} conditioned) "
                  f"in {time.monotonic() - started:.1f} s")
            report(lib, ids, truth, "conditioned")
        finally:
            lib.close()


def report(lib: Library, ids: dict[int, str], truth: dict[str, tuple[str, list[str]]],
           expected_mode: str) -> None:
    right = n = 0
    tp = fp = fn = 0
    modes: dict[str, int] = {}
    for image_id, rel in ids.items():
        view = image_view(lib, image_id)
        assert view is not None
        (pack,) = view.packs
        modes[pack.mode_text or "?"] = modes.get(pack.mode_text or "?", 0) + 1
        chars = [p for p in pack.predictions if p.category == "character"]
        best = max(chars, key=lambda p: p.score)
        character, tags = truth[rel]
        right += best.name == character
        n += 1
        shown = {p.name for p in pack.predictions if p.category == "general" and p.passes}
        real = set(tags)
        tp += len(shown & real)
        fp += len(shown - real)
        fn += len(real - shown)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"  stored character top-1 ({expected_mode}): {right / n:.4f} on {n} images; modes "
          + ", ".join(f"{k}: {v}" for k, v in sorted(modes.items())))
    print(f"  stored generated tags at the pack's threshold: precision {precision:.4f} "
          f"recall {recall:.4f} F1 {f1:.4f}")


if __name__ == "__main__":
    main()
