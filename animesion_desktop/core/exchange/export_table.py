"""``csv`` and ``json``: one row / object per image, everything an outside tool may want.

csv columns: path, hash, width, height, character, copyright, rating, general (space separated
tag names of the chosen label mode), accepted, rejected (``category:name`` of the decisions),
scores (``category:name=0.873``, the best score among active packs). json objects carry the
same, with ``tags`` as a list of {category, name, score, state, effective}.
DEST may name the file (``out.csv``); otherwise ``DEST/images.csv`` / ``DEST/images.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from animesion_desktop.core.exchange.common import names
from animesion_desktop.core.exchange.export_ours import csv_text
from animesion_desktop.core.exchange.options import ExportOptions
from animesion_desktop.core.exchange.plan import ExportSummary, Plan
from animesion_desktop.core.exchange.records import ImageRecord

CSV_COLUMNS = ["path", "hash", "width", "height", "character", "copyright", "rating", "general",
               "accepted", "rejected", "scores"]


def table_file(dest: Path, fmt: str) -> Path:
    return dest if dest.suffix.lower() == f".{fmt}" else dest / f"images.{fmt}"


def _joined(tags: set[tuple[str, str]]) -> str:
    return " ".join(f"{c}:{n}" for c, n in sorted(tags))


def plan_csv(records: list[ImageRecord], opts: ExportOptions, meta: dict[str, Any]) -> Plan:
    summary = ExportSummary("csv", opts.dest, images=len(records))
    rows = []
    for rec in records:
        tags = rec.tags(opts.labels)
        rows.append([
            str(rec.path or ""), rec.hash, rec.width or "", rec.height or "",
            " ".join(names(tags, "character")), " ".join(names(tags, "copyright")),
            " ".join(names(tags, "rating")), " ".join(names(tags, "general")),
            _joined(rec.accepted()), _joined(rec.rejected()),
            " ".join(f"{c}:{n}={s:.4f}" for (c, n), s in sorted(rec.scores.items())),
        ])
    plan = Plan(summary=summary)
    plan.add_text(table_file(opts.dest, "csv"), csv_text(rows, CSV_COLUMNS))
    return plan


def plan_json(records: list[ImageRecord], opts: ExportOptions, meta: dict[str, Any]) -> Plan:
    summary = ExportSummary("json", opts.dest, images=len(records))
    objects = []
    for rec in records:
        chosen = rec.tags(opts.labels)
        every = chosen | set(rec.labels) | set(rec.scores)
        objects.append({
            "path": str(rec.path) if rec.path else None,
            "paths": [str(p) for p in rec.paths],
            "hash": rec.hash, "width": rec.width, "height": rec.height,
            "character": names(chosen, "character"), "copyright": names(chosen, "copyright"),
            "rating": names(chosen, "rating"),
            "tags": [
                {"category": c, "name": n, "score": rec.scores.get((c, n)),
                 "state": rec.labels[(c, n)][0] if (c, n) in rec.labels else None,
                 "source": rec.labels[(c, n)][1] if (c, n) in rec.labels else None,
                 "effective": (c, n) in rec.effective}
                for c, n in sorted(every)
            ],
        })
    plan = Plan(summary=summary)
    doc = {**meta, "labels": opts.labels, "images": objects}
    plan.add_text(table_file(opts.dest, "json"), json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return plan
