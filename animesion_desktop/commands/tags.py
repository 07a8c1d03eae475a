"""``animesion tags [TEXT]``: tags whose name contains TEXT, with how many images have them."""

from __future__ import annotations

import argparse
import json
from typing import Any

from animesion_desktop.commands.shared import non_negative
from animesion_desktop.core.library import Library
from animesion_desktop.core.search import autocomplete


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "tags",
        help="list tags and how many images have them",
        description="List tags whose name contains TEXT (anywhere; * is a wildcard, a "
                    "category: prefix restricts), most used first, with the number of images "
                    "that have each among their effective tags.",
    )
    p.add_argument("text", nargs="?", default="", help="part of a tag name (default: all tags)")
    p.add_argument("--limit", type=non_negative, default=50, metavar="N",
                   help="show at most N tags (default 50; 0 for all)")
    p.add_argument("--unused", action="store_true", help="also list tags no image has")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of {category, name, count}")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with Library.open(args.library) as lib:
        rows = autocomplete(lib, args.text, limit=args.limit or None,
                            include_unused=args.unused)
    if args.json:
        print(json.dumps([r._asdict() for r in rows], ensure_ascii=False, indent=2))
    else:
        for r in rows:
            print(f"{r.count:>9}  {r.category}:{r.name}")
    return 0
