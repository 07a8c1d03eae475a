"""``ours``: the library export format that ``animesion-train --dataset export`` reads.

    DEST/images/<hash16>.<ext>   the images (hard-linked, symlinked or copied)
    DEST/labels.csv              path, character, copyright, rating, tags, split
    DEST/classes.csv             class_id, character, images
    DEST/tags.csv                tag, category, images
    DEST/left_out.csv            what, reason: images not exported, and why
    DEST/export.json             provenance: query, time, library, label mode, counts, thresholds

The split is stratified by character and seeded; characters with fewer than --min-per-class
images are left out, and listed in left_out.csv and the summary.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from typing import Any

from animesion_desktop.core.exchange.common import export_name, missing_file, names, single, where
from animesion_desktop.core.exchange.options import ExportOptions
from animesion_desktop.core.exchange.plan import ExportSummary, LeftOut, Plan
from animesion_desktop.core.exchange.records import ImageRecord
from animesion_desktop.core.exchange.splits import small_classes, stratified_split

# The training package's export format (training/data/export_format.py); the app may not import
# training, so the name and version are repeated here and a test reads the export back with it.
FORMAT_NAME = "animesion-export"
FORMAT_VERSION = 1


def csv_text(rows: list[list[Any]], header: list[str] | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def labelled(records: list[ImageRecord], opts: ExportOptions, summary: ExportSummary,
             *, one_character: bool) -> list[tuple[ImageRecord, list[str], set[tuple[str, str]]]]:
    """Records that can be exported for training, with their characters and tags; the rest go
    to ``summary.left_out`` with the reason. Shared with the DAF:re exporter."""
    kept = []
    for rec in records:
        if rec.path is None:
            summary.left_out.append(missing_file(rec))
            continue
        tags = rec.tags(opts.labels)
        chars = names(tags, "character")
        if not tags:
            summary.left_out.append(LeftOut(where(rec), "no labels" if opts.labels == "accepted" else "no tags"))
            continue
        if one_character and len(chars) != 1:
            reason = "no character" if not chars else f"several characters: {' '.join(chars)}"
            summary.left_out.append(LeftOut(where(rec), reason))
            continue
        kept.append((rec, chars, tags))
    small = small_classes([c[0] if len(c) == 1 else None for _, c, _ in kept], opts.min_per_class)
    result = []
    for rec, chars, tags in kept:
        if len(chars) == 1 and chars[0] in small:
            summary.left_out.append(LeftOut(
                where(rec), f"too few images of the character: {chars[0]} has {small[chars[0]]} "
                f"(--min-per-class {opts.min_per_class})"))
            continue
        result.append((rec, chars, tags))
    return result


def plan_ours(records: list[ImageRecord], opts: ExportOptions, meta: dict[str, Any]) -> Plan:
    summary = ExportSummary("ours", opts.dest)
    plan = Plan(summary=summary)
    rows = labelled(records, opts, summary, one_character=False)
    splits = stratified_split([single(c) for _, c, _ in rows], opts.split_fractions, opts.seed,
                              [r.hash for r, _, _ in rows])
    label_rows, class_counts, tag_counts = [], Counter[str](), Counter[tuple[str, str]]()
    for (rec, chars, tags), split in zip(rows, splits, strict=True):
        assert rec.path is not None
        rel = f"images/{export_name(rec)}"
        plan.add_image(opts.dest / rel, rec.path)
        general = names(tags, "general")
        label_rows.append([rel, " ".join(chars), single(names(tags, "copyright")),
                           single(names(tags, "rating")), " ".join(general), split])
        summary.splits[split] += 1
        summary.split_of[rec.id] = split
        class_counts.update(chars)
        tag_counts.update(t for t in tags if t[0] != "character")
    classes = sorted(class_counts)
    summary.images, summary.classes = len(rows), len(classes)
    d = opts.dest
    plan.add_text(d / "labels.csv", csv_text(label_rows, ["path", "character", "copyright", "rating", "tags", "split"]))
    plan.add_text(d / "classes.csv", csv_text([[i, c, class_counts[c]] for i, c in enumerate(classes)],
                                              ["class_id", "character", "images"]))
    plan.add_text(d / "tags.csv", csv_text([[n, c, k] for (c, n), k in sorted(tag_counts.items())],
                                           ["tag", "category", "images"]))
    plan.add_text(d / "left_out.csv", csv_text([[lo.what, lo.reason] for lo in summary.left_out],
                                               ["what", "reason"]))
    info = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, **meta,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "labels": opts.labels, "seed": opts.seed, "split_fractions": list(opts.split_fractions),
        "min_per_class": opts.min_per_class,
        "counts": {"images": len(rows), "characters": len(classes), "splits": dict(summary.splits),
                   "left_out": dict(summary.reasons())},
    }
    plan.add_text(d / "export.json", json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return plan
