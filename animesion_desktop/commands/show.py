"""``animesion show PATH``: everything the library holds about one image."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from animesion_desktop.core.errors import UserError
from animesion_desktop.core.image_view import image_view
from animesion_desktop.core.library import Library


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "show",
        help="show what the library knows about one image",
        description="The image's hash, size and format, its files, labels, effective tags, "
        "and per model pack every stored score with the pack's threshold.",
    )
    p.add_argument("path", metavar="PATH", help="an indexed image file")
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with Library.open(args.library) as lib:
        image_id = lib.image_for_path(args.path)
        view = None if image_id is None else image_view(lib, image_id)
    if view is None:
        raise UserError(f"{args.path}: not in the library (is its folder scanned?)")
    record = view.record()
    if args.json:
        print(json.dumps(record, indent=2, ensure_ascii=False))
    else:
        print(render(record))
    return 0


def _when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _guesses(packs: list[dict[str, Any]]) -> list[str]:
    """Each pack's best character, and the mode that produced it:
    ``character: alice 0.930 (vilt, conditioned on 4 tags)``."""
    out = []
    for pack in packs:
        best = (pack["predictions"].get("character") or [None])[0]
        if best is None:
            continue
        how = pack["name"] + (f", {pack['mode_text']}" if pack.get("mode_text") else "")
        out.append(f"  character: {best['name']} {best['score']:.3f} ({how})")
    return ["best guesses:", *out] if out else []


def render(record: dict[str, Any]) -> str:
    image = record["image"]
    size = (f"{image['width']}x{image['height']}" if image["width"] and image["height"]
            else "size unknown")
    out = [f"image {image['id']}  sha256 {image['hash']}",
           f"  {size}  {image['format'] or 'format unknown'}  added {_when(image['added_at'])}",
           "files:"]
    for f in record["files"]:
        line = f"  [{f['status']}] {f['path']}  ({f['size']} bytes)"
        out.append(line + (f"  error: {f['error']}" if f["error"] else ""))
    out.append("labels:" + ("" if record["labels"] else " none"))
    for label in record["labels"]:
        out.append(f"  {label['state']:<8} {label['tag']}  by {label['source']}  "
                   f"{_when(label['at'])}")
    out.append("effective tags: " + (", ".join(record["effective_tags"]) or "none"))
    out.extend(_guesses(record["packs"]))
    if not record["packs"]:
        out.append("packs: none has run on this image")
    for pack in record["packs"]:
        state = "active" if pack["active"] else "inactive"
        out.append(f"pack {pack['name']} {pack['version']} ({state}), run {_when(pack['run_at'])}"
                   + (f", embedding {pack['embedding_dim']}-d" if pack["embedding_dim"] else ""))
        if pack["error"]:
            out.append(f"  error: {pack['error']}")
        if pack.get("mode_text"):
            given = pack.get("conditioned_on") or []
            out.append(f"  mode: {pack['mode_text']}" + (f" ({', '.join(given)})" if given else ""))
        for category, preds in pack["predictions"].items():
            out.append(f"  {category}:")
            for p in preds:
                mark = "pass" if p["passes"] else "    "
                threshold = "-" if p["threshold"] is None else f"{p['threshold']:.2f}"
                out.append(f"    {mark}  {p['score']:.3f}  (threshold {threshold})  {p['name']}")
    return "\n".join(out)
