"""``animesion label``: accept, reject or withdraw tags on images, by path or by search.

Decisions are labels with source ``user``; no model run ever changes them. Batch-tag a search
result with ``--query``. Unknown paths are reported one by one and the rest are still labelled.
"""

from __future__ import annotations

import argparse
import sys

from animesion_desktop.core.errors import TagError, UserError
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.tags import parse_tag


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("label", help="accept, reject or clear tags on images (your decisions)")
    p.add_argument("paths", nargs="*", help="image files in the library")
    p.add_argument("--query", help="label every image this search finds instead of paths")
    p.add_argument("--accept", "-a", action="append", default=[], metavar="TAG",
                   help="keep TAG on the images whatever the models say (repeatable)")
    p.add_argument("--reject", "-r", action="append", default=[], metavar="TAG",
                   help="remove TAG from the images whatever the models say (repeatable)")
    p.add_argument("--clear", "-c", action="append", default=[], metavar="TAG",
                   help="forget your decision on TAG: back to what the models say")
    p.set_defaults(run=run)


def _check_tags(option: str, tags: list[str]) -> None:
    """Refuse a malformed tag before anything is written, naming the option it came with."""
    for tag in tags:
        try:
            parse_tag(tag)
        except TagError as exc:
            raise UserError(f"{option}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    if not (args.accept or args.reject or args.clear):
        raise UserError("nothing to do: give --accept, --reject or --clear with a tag")
    if bool(args.paths) == bool(args.query):
        raise UserError("give image paths or --query, not both and not neither")
    _check_tags("--accept", args.accept)
    _check_tags("--reject", args.reject)
    _check_tags("--clear", args.clear)
    failed = 0
    proposed: int | None = None
    with Library.open(args.library) as lib:
        if args.query is not None:
            from animesion_desktop.core.search import search

            result = search(lib, args.query, limit=None)
            if result.kind != "images":
                raise UserError("is:error finds unreadable files, which have no tags to label")
            ids = list(result.ids)
        else:
            ids = []
            for path in args.paths:
                image_id = lib.image_for_path(path)
                if image_id is None:
                    print(f"animesion: error: {path}: not in the library (is its folder "
                          "scanned?)", file=sys.stderr)
                    failed += 1
                else:
                    ids.append(image_id)
        if ids:
            for tag in args.accept:
                lib.set_label(ids, tag, "accepted", source="user")
            for tag in args.reject:
                lib.set_label(ids, tag, "rejected", source="user")
            for tag in args.clear:
                lib.clear_label(ids, tag)
            proposed = _follow_labels(lib, args.accept + args.reject + args.clear)
    n = len(set(ids))
    print(f"labelled {n} image{'s' if n != 1 else ''}"
          + (f"; {failed} path{'s' if failed != 1 else ''} not found" if failed else ""))
    if ids and proposed is not None:
        print(f"few-shot head updated: {proposed} suggestion{'s' if proposed != 1 else ''}")
    return 2 if failed else 0


def _follow_labels(lib: Library, tags: list[str]) -> int | None:
    """The few-shot head learns character labels: rerun it now (no training), as the app does
    after each label write. None if nothing to rerun."""
    from animesion_desktop.core.similar.live import refresh_fewshot, touches_characters

    return refresh_fewshot(lib) if touches_characters(tags) else None
