"""``animesion clusters``: group the images no pack recognises, name a group, review what the
name is proposed for, and the few-shot head's guesses."""

from __future__ import annotations

import argparse
import json
import threading
from typing import Any

from animesion_desktop.commands.progress import drive
from animesion_desktop.commands.shared import indexed_image
from animesion_desktop.core.errors import UserError
from animesion_desktop.core.library import Library, files
from animesion_desktop.core.similar import clusters, fewshot, suggestions
from animesion_desktop.core.similar.index import default_pack

EPILOG = """\
examples:
  animesion clusters                         (recluster the unknown images, largest first)
  animesion clusters name 3 my_oc            (label cluster 3 character:my_oc, propose the rest)
  animesion clusters name 3 my_oc --only a.png b.png
  animesion clusters suggestions --source propagation
  animesion clusters fewshot                 (rerun the prototype head on every image)
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "clusters", help="cluster unknown characters; name them; review the suggestions",
        description="Images whose best character score is below the pack's threshold (no "
        "effective character tag) are clustered by the cosine of their embeddings. Naming a "
        "cluster labels its images (your decision) and proposes the name for the nearest other "
        "images as suggestions, never as labels.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pack", metavar="NAME", help="whose embeddings (default: the active pack "
                                                  "with the most)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--max-distance", type=float, default=clusters.MAX_DISTANCE, metavar="D",
                   help=f"cosine distance where clusters stop merging (default "
                        f"{clusters.MAX_DISTANCE})")
    p.add_argument("--min-size", type=int, default=clusters.MIN_SIZE, metavar="N",
                   help=f"smallest cluster shown (default {clusters.MIN_SIZE})")
    p.set_defaults(run=run, action="list")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    name = actions.add_parser("name", help="name a cluster (or some of its images)")
    name.add_argument("cluster", type=int, metavar="ID")
    name.add_argument("name", metavar="NAME", help="the character (character: is implied)")
    name.add_argument("--only", nargs="+", metavar="PATH", help="just these images of it")
    shown = actions.add_parser("suggestions", help="list the names proposed for images")
    shown.add_argument("--source", choices=(suggestions.PROPAGATION, suggestions.FEWSHOT))
    actions.add_parser("fewshot", help="rerun the few-shot head from the current labels")


def run(args: argparse.Namespace) -> int:
    if args.min_size < 1 or not 0.0 < args.max_distance <= 2.0:
        raise UserError("--min-size must be >= 1 and --max-distance in (0, 2]")
    with Library.open(args.library) as lib:
        pack_id, _pack = default_pack(lib, args.pack)
        out: Any
        if args.action == "name":
            out = _name(lib, args)
        elif args.action == "suggestions":
            out = [_row(lib, s.image_id, tag=s.tag, source=s.source, score=round(s.score, 4))
                   for s in suggestions.list_suggestions(lib, args.source)]
        elif args.action == "fewshot":
            cancel = threading.Event()
            n = drive(fewshot.update(lib, pack_id, cancel), cancel, unit="image")
            out = {"suggested": n}
        else:
            cancel = threading.Event()
            found = drive(clusters.cluster_unknowns(
                lib, pack_id, cancel, max_distance=args.max_distance, min_size=args.min_size),
                cancel, unit="image")
            out = [{"cluster": c.id, "size": c.size,
                    "images": [_row(lib, i) for i in c.image_ids]} for c in found]
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print(args.action, out)
    return 0


def _row(lib: Library, image_id: int, **extra: Any) -> dict[str, Any]:
    found = files.image_locations(lib, image_id)
    return {"image_id": image_id, "path": str(found[1][0]) if found and found[1] else None,
            **extra}


def _name(lib: Library, args: argparse.Namespace) -> dict[str, Any]:
    only = [indexed_image(lib, path) for path in args.only] if args.only else None
    result = clusters.name_cluster(lib, args.cluster, args.name, only)
    return {"labelled": len(result.labelled),
            "proposed": [_row(lib, s.image_id, tag=s.tag, score=round(s.score, 4))
                         for s in result.proposed]}


def _print(action: str, out: Any) -> None:
    if action == "name":
        print(f"labelled {out['labelled']} image(s); proposed for {len(out['proposed'])} more "
              "(review: animesion clusters suggestions)")
    elif action == "fewshot":
        print(f"{out['suggested']} few-shot suggestion(s)")
    elif action == "suggestions":
        for s in out:
            print(f"{s['score']:.3f}  {s['tag']}  [{s['source']}]  {s['path']}")
    else:
        for c in out:
            print(f"cluster {c['cluster']}: {c['size']} images")
            for item in c["images"][:5]:
                print(f"  {item['path']}")
            if c["size"] > 5:
                print(f"  ... and {c['size'] - 5} more")
        if not out:
            print("no clusters: every image has a character, or no two unknowns are alike")
