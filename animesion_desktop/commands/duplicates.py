"""``animesion duplicates``: near-duplicate groups (the same picture at another size, format,
compression or crop margin), and ``--keep PATH`` to move the others' files to the trash."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from animesion_desktop.commands.progress import drive
from animesion_desktop.commands.shared import indexed_image, present_paths
from animesion_desktop.core.errors import UserError
from animesion_desktop.core.library import Library
from animesion_desktop.core.similar import duplicates


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "duplicates",
        help="list near-duplicate images, or keep one of a group",
        description="Hashes new images (perceptual hash of the thumbnail), groups those within "
        f"{duplicates.MAX_DISTANCE} bits of 64 and lists the groups, largest first. "
        "Search them with is:duplicate and duplicate:ID.",
    )
    p.add_argument("--keep", metavar="PATH",
                   help="keep this image and move the files of the rest of its group to the "
                        "system trash (asks first; never deletes)")
    p.add_argument("--yes", action="store_true", help="with --keep: do not ask")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of groups, each a list of {image_id, paths}")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cancel = threading.Event()
    with Library.open(args.library) as lib:
        summary = drive(duplicates.hash_images(lib, cancel, force=True), cancel, unit="image")
        for image_id, reason in summary.failed[:10]:
            print(f"  not hashed: image {image_id}: {reason}", file=sys.stderr)
        if args.keep is not None:
            return _keep(lib, args)
        groups = [[_located(lib, i) for i in group] for group in duplicates.groups(lib)]
    if args.json:
        print(json.dumps(groups, indent=2, ensure_ascii=False))
        return 0
    for group in groups:
        print(f"group of {len(group)} (duplicate:{group[0]['image_id']})")
        for item in group:
            shown = item["paths"][0] if item["paths"] else "(no file present)"
            print(f"  {item['image_id']:>8}  {shown}")
    print(f"{len(groups):,} groups, {sum(len(g) for g in groups):,} images", file=sys.stderr)
    return 0


def _located(lib: Library, image_id: int) -> dict[str, Any]:
    return {"image_id": image_id, "paths": present_paths(lib, image_id)}


def _keep(lib: Library, args: argparse.Namespace) -> int:
    keep = indexed_image(lib, args.keep)
    targets = duplicates.files_to_trash(lib, keep)
    if not targets:
        print("nothing to move: the other images of the group have no file present")
        return 0
    print(f"keeping {args.keep}; moving {len(targets)} file(s) to the trash:")
    for _fid, path in targets:
        print(f"  {path}")
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError("--keep: not confirmed (no terminal to ask; add --yes)")
        answer = input("move them to the trash? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("nothing moved")
            return 1
    result = duplicates.keep_one(lib, keep, confirmed=True, only=targets)
    for path, reason in result.failed:
        print(f"  not moved: {path}: {reason}", file=sys.stderr)
    print(f"moved {len(result.trashed)} file(s) to the trash (their labels are kept)")
    return 0 if not result.failed else 2
