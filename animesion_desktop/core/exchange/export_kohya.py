"""``kohya``: one caption .txt per image (comma separated tags), as diffusion training tools
(kohya-ss sd-scripts and friends) expect: ``DEST/<hash16>.<ext>`` + ``DEST/<hash16>.txt``, or,
with ``beside``, ``<image stem>.txt`` next to each original image and no copies.

Character and copyright tags come first (``keep_tokens`` = their count keeps them from being
shuffled); ``threshold`` also captions predictions scoring at least that, ``exclude`` drops tags,
``spaces`` writes ``blue hair`` for ``blue_hair``. Rating tags are never captioned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from animesion_desktop.core.exchange.common import export_name, missing_file, where
from animesion_desktop.core.exchange.options import ExportOptions
from animesion_desktop.core.exchange.plan import ExportSummary, LeftOut, Plan
from animesion_desktop.core.exchange.records import ImageRecord, Tag
from animesion_desktop.core.library.tags import parse_tag

FIRST = ("character", "copyright", "artist")


def caption_tokens(rec: ImageRecord, opts: ExportOptions) -> list[str]:
    tags = rec.tags(opts.labels)
    if opts.threshold is not None:
        rejected = rec.rejected()
        tags |= {t for t, s in rec.scores.items() if s >= opts.threshold and t not in rejected}
    excluded = {parse_tag(e) for e in opts.exclude} | {("general", e.strip().lower().replace(" ", "_"))
                                                      for e in opts.exclude}
    tags = {t for t in tags if t[0] != "rating" and t not in excluded}

    def order(t: Tag) -> tuple[int, float, str]:
        first = FIRST.index(t[0]) if (opts.character_first or opts.keep_tokens) and t[0] in FIRST else len(FIRST)
        return first, -rec.scores.get(t, 1.0), t[1]  # decided tags (no score) before guesses

    out = [n for _, n in sorted(tags, key=order)]
    return [n.replace("_", " ") for n in out] if opts.spaces else out


def plan_kohya(records: list[ImageRecord], opts: ExportOptions, meta: dict[str, Any]) -> Plan:
    summary = ExportSummary("kohya", opts.dest)
    plan = Plan(summary=summary)
    taken: set[Path] = set()
    for rec in records:
        if rec.path is None:
            summary.left_out.append(missing_file(rec))
            continue
        tokens = caption_tokens(rec, opts)
        if not tokens:
            summary.left_out.append(LeftOut(where(rec), "no tags"))
            continue
        text = ", ".join(tokens) + "\n"
        if opts.beside:
            targets = [p.with_suffix(".txt") for p in rec.paths]
            clash = next((t for t in targets if t in taken), None)
            if clash is not None:  # a.png and a.jpg would share a.txt: neither tool could tell
                summary.left_out.append(LeftOut(where(rec), f"caption file shared with another image: {clash}"))
                continue
            for target in targets:
                taken.add(target)
                plan.add_text(target, text, beside=True)
        else:
            name = export_name(rec)
            plan.add_image(opts.dest / name, rec.path)
            plan.add_text(opts.dest / (name.rsplit(".", 1)[0] + ".txt"), text)
        summary.images += 1
    return plan
