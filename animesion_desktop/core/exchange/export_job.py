"""The export job: select images, read their records, plan the format's files, check, write.

A generator yielding :class:`Progress` and returning an :class:`ExportSummary`, cancelled by an
Event (what was written stays; labels.csv and the other tables come last, so a cancelled
``ours`` export is never mistaken for a complete one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from animesion_desktop.core.exchange.export_dafre import plan_dafre
from animesion_desktop.core.exchange.export_kohya import plan_kohya
from animesion_desktop.core.exchange.export_ours import plan_ours
from animesion_desktop.core.exchange.export_table import plan_csv, plan_json, table_file
from animesion_desktop.core.exchange.export_xmp import plan_xmp
from animesion_desktop.core.exchange.options import ExportOptions
from animesion_desktop.core.exchange.plan import ExportSummary, Plan
from animesion_desktop.core.exchange.records import (
    ImageRecord,
    active_thresholds,
    all_image_ids,
    read_records,
)
from animesion_desktop.core.exchange.writer import ExportError, check, write
from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.library import Library

Planner = Callable[[list[ImageRecord], ExportOptions, dict[str, Any]], Plan]
PLANNERS: dict[str, Planner] = {
    "ours": plan_ours, "dafre": plan_dafre, "kohya": plan_kohya, "xmp": plan_xmp,
    "csv": plan_csv, "json": plan_json,
}


def select_images(lib: Library, query: str) -> list[int]:
    if not query.strip():
        return all_image_ids(lib)
    from animesion_desktop.core.search import search

    result = search(lib, query, limit=None, order="oldest")
    if result.kind != "images":
        raise ExportError("is:error finds unreadable files, which have nothing to export")
    return list(result.ids)


def dest_root(opts: ExportOptions) -> Any:
    if opts.format in ("csv", "json"):
        return table_file(opts.dest, opts.format).parent
    return opts.dest


def export(lib: Library, opts: ExportOptions, cancel: threading.Event) -> Job[ExportSummary]:
    """Export the images ``opts.query`` finds in ``opts.format`` to ``opts.dest``."""
    try:
        opts.check()
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    ids = select_images(lib, opts.query)
    records: list[ImageRecord] = []
    yield Progress("reading", 0, len(ids))
    for chunk in read_records(lib, ids):
        records.extend(chunk)
        yield Progress("reading", len(records), len(ids))
        if cancel.is_set():
            return ExportSummary(opts.format, opts.dest, cancelled=True)
    meta = {"query": opts.query, "library": str(lib.location.db_path),
            "thresholds": active_thresholds(lib)}
    plan = PLANNERS[opts.format](records, opts, meta)
    assert plan.summary is not None
    summary = plan.summary
    summary.dry_run = opts.dry_run
    check(plan, dest_root(opts), beside=opts.beside, overwrite=opts.overwrite)
    if opts.dry_run:
        summary.planned = [o.target for o in plan.outputs]
        summary.files = len(plan.outputs)
        return summary
    return (yield from write(plan, summary, opts.link, cancel))
