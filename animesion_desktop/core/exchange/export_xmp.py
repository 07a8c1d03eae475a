"""``xmp``: one sidecar per image with its tags as keywords (see xmp.py for the fields).

Under DEST by default, mirroring the library: ``DEST/<root folder name>/<path in root>.xmp``.
With ``beside``, ``<image>.xmp`` next to every file of the image (digiKam's and darktable's
naming), which is the one case an export writes outside DEST, and only when asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from animesion_desktop.core.exchange.common import missing_file, relative_to_root, where
from animesion_desktop.core.exchange.options import ExportOptions
from animesion_desktop.core.exchange.plan import ExportSummary, LeftOut, Plan
from animesion_desktop.core.exchange.records import ImageRecord
from animesion_desktop.core.exchange.xmp import write_xmp


def plan_xmp(records: list[ImageRecord], opts: ExportOptions, meta: dict[str, Any]) -> Plan:
    summary = ExportSummary("xmp", opts.dest)
    plan = Plan(summary=summary)
    folder_of: dict[Path, str] = {}  # root -> its folder under DEST (names made unique)
    for rec in records:
        if rec.path is None:
            summary.left_out.append(missing_file(rec))
            continue
        tags = sorted(rec.tags(opts.labels))
        if not tags:
            summary.left_out.append(LeftOut(where(rec), "no tags"))
            continue
        text = write_xmp(tags, rec.hash)
        if opts.beside:
            for path in rec.paths:
                plan.add_text(path.with_name(path.name + ".xmp"), text, beside=True)
        else:
            root, rel = relative_to_root(rec)
            if root not in folder_of:
                base, n = root.name or "root", 1
                taken = set(folder_of.values())
                name = base
                while name in taken:
                    n += 1
                    name = f"{base}-{n}"
                folder_of[root] = name
            plan.add_text(opts.dest / folder_of[root] / rel.with_name(rel.name + ".xmp"), text)
        summary.images += 1
    return plan
