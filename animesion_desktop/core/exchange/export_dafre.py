"""``dafre``: the DAF:re / Animesion layout, so Animesion's ``train.py --dataset_name
danbooruFaces --dataset_path DEST`` trains on the library unchanged.

    DEST/labels/classid_classname.csv   class_id,class_name                  (no header)
    DEST/labels/{train,val,test}.csv    class_id,dir                         (no header)
    DEST/labels/{split}_tags.csv        id,dir,class_id,tags_cat0 (header; tags_cat0 is a
                                        Python list literal of the general tags)
    DEST/faces/<class_id>/<hash16>.<ext>

Every image needs exactly one character; the others are left out with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from animesion_desktop.core.exchange.common import export_name, names
from animesion_desktop.core.exchange.export_ours import csv_text, labelled
from animesion_desktop.core.exchange.options import ExportOptions
from animesion_desktop.core.exchange.plan import ExportSummary, Plan
from animesion_desktop.core.exchange.records import ImageRecord
from animesion_desktop.core.exchange.splits import stratified_split

SPLITS = ("train", "val", "test")


def plan_dafre(records: list[ImageRecord], opts: ExportOptions, meta: dict[str, Any]) -> Plan:
    summary = ExportSummary("dafre", opts.dest)
    plan = Plan(summary=summary)
    rows = labelled(records, opts, summary, one_character=True)
    classes = sorted({c[0] for _, c, _ in rows})
    class_id = {c: i for i, c in enumerate(classes)}
    splits = stratified_split([c[0] for _, c, _ in rows], opts.split_fractions, opts.seed,
                              [r.hash for r, _, _ in rows])
    per_split: dict[str, list[list[Any]]] = {s: [] for s in SPLITS}
    tag_rows: dict[str, list[list[Any]]] = {s: [] for s in SPLITS}
    for (rec, chars, tags), split in zip(rows, splits, strict=True):
        assert rec.path is not None
        cid = class_id[chars[0]]
        rel = f"{cid}/{export_name(rec)}"
        plan.add_image(opts.dest / "faces" / rel, rec.path)
        per_split[split].append([cid, rel])
        # repr() of a list of str is the literal Animesion's reader (ast.literal_eval) expects.
        tag_rows[split].append([len(tag_rows[split]), rel, cid, repr(names(tags, "general"))])
        summary.splits[split] += 1
        summary.split_of[rec.id] = split
    summary.images, summary.classes = len(rows), len(classes)
    labels = opts.dest / "labels"
    plan.add_text(labels / "classid_classname.csv", csv_text([[i, c] for i, c in enumerate(classes)]))
    for split in SPLITS:
        plan.add_text(labels / f"{split}.csv", csv_text(per_split[split]))
        plan.add_text(labels / f"{split}_tags.csv",
                      csv_text(tag_rows[split], ["id", "dir", "class_id", "tags_cat0"]))
    plan.add_text(opts.dest / "left_out.csv",
                  csv_text([[lo.what, lo.reason] for lo in summary.left_out], ["what", "reason"]))
    plan.add_text(opts.dest / "export.json", json.dumps(
        {"format": "dafre", **meta, "labels": opts.labels, "seed": opts.seed,
         "min_per_class": opts.min_per_class, "splits": dict(summary.splits),
         "left_out": dict(summary.reasons())}, indent=2, ensure_ascii=False) + "\n")
    return plan
