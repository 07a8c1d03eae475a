"""``animesion search QUERY``: print the files of the images a query finds (docs/search.md)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from animesion_desktop.commands.shared import non_negative
from animesion_desktop.core.image_view import image_views
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.schema import File, Root
from animesion_desktop.core.search import ORDERS, parse, search

_CHUNK = 500

EPILOG = """\
examples:
  animesion search "blue_hair -glasses"
  animesion search "character:hatsune_miku (red_hair | pink_hair) width>=1920" --json
  animesion search -- -glasses          (a query that starts with '-' needs '--' first)
  animesion search "is:error"           (files that could not be read)

Each image prints its readable files (or, if it has none, the files it was last seen at).
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "search",
        help="find images with the search language",
        description="Find images with the search language (see docs/search.md) and print "
                    "their file paths, one a line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", nargs="*", help="the query; several words are joined with spaces; "
                                            "nothing finds every image")
    p.add_argument("--limit", type=non_negative, default=100, metavar="N",
                   help="show at most N images (default 100)")
    p.add_argument("--all", action="store_true", help="show every match")
    p.add_argument("--order", choices=ORDERS, default=None,
                   help="newest or oldest added first, by path, random, or by similarity "
                        "(default: newest; nearest first for a similar:ID query)")
    p.add_argument("--count", action="store_true", help="print only the number of matches")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of {image_id, hash, paths, width, height, score, tags}")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    node = parse(" ".join(args.query))  # a malformed query fails before the library opens
    with Library.open(args.library) as lib:
        result = search(lib, node, limit=None if args.all else args.limit, order=args.order)
        if args.count:
            print(result.total)
            return 0
        if result.kind == "files":
            items = _error_files(lib, result.ids)
        else:
            items = _images(lib, result.ids)
        _print(items, args.json)  # a reader that goes away (`| head`): see cli.main
        sys.stdout.flush()
    if len(result.ids) < result.total:
        what = "files" if result.kind == "files" else "images"
        print(f"showing {len(result.ids):,} of {result.total:,} {what} "
              "(--limit N or --all for more)", file=sys.stderr)
    return 0


def _print(items: Iterator[dict[str, Any]], as_json: bool) -> None:
    out = sys.stdout
    if not as_json:
        for item in items:
            for path in item["paths"] if "paths" in item else [item["path"]]:
                out.write(path + "\n")
        return
    out.write("[")
    for n, item in enumerate(items):
        out.write(("," if n else "") + "\n  " + json.dumps(item, ensure_ascii=False))
    out.write("\n]\n")


def _images(lib: Library, ids: Sequence[int]) -> Iterator[dict[str, Any]]:
    """Each image's view (core/image_view.py), in the order of ``ids``, a chunk at a time."""
    for start in range(0, len(ids), _CHUNK):
        for view in image_views(lib, ids[start : start + _CHUNK]):
            yield view.search_item()


def _error_files(lib: Library, ids: Sequence[int]) -> Iterator[dict[str, Any]]:
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        with lib.read() as s:
            rows = {
                file_id: (str(Path(root) / relpath), error)
                for file_id, root, relpath, error in s.execute(
                    select(File.id, Root.path, File.relpath, File.error)
                    .join(Root, Root.id == File.root_id)
                    .where(File.id.in_(chunk))
                )
            }
        for file_id in chunk:
            if file_id in rows:
                path, error = rows[file_id]
                yield {"file_id": file_id, "path": path, "error": error}
