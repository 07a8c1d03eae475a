"""``animesion similar PATH|--query Q``: the images nearest to one image (or to a search's
results) by the pack's embedding, with cosine scores."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from animesion_desktop.commands.shared import indexed_image, positive, present_paths
from animesion_desktop.core.errors import UserError
from animesion_desktop.core.library import Library
from animesion_desktop.core.search import parse, search
from animesion_desktop.core.similar.index import SimilarIndex, default_pack

_QUERY_IMAGES = 1000  # a --query uses the mean direction of at most this many of its images


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "similar",
        help="find the images most like one image (or like a search's results)",
        description="Nearest neighbours by the cosine of the pack's stored embeddings (the "
        "active pack with the most embeddings unless --pack names one). With --query, the "
        "neighbours of the mean direction of the images the search finds, leaving those out.",
    )
    p.add_argument("path", nargs="?", metavar="PATH", help="an indexed image file")
    p.add_argument("--query", metavar="Q", help="a search (see docs/search.md) instead of PATH")
    p.add_argument("-k", type=positive, default=10, metavar="N", help="how many (default 10)")
    p.add_argument("--pack", metavar="NAME", help="whose embeddings to compare")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of {image_id, score, paths}")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if (args.path is None) == (args.query is None):
        raise UserError("give either an image PATH or --query Q (not both)")
    node = parse(args.query) if args.query is not None else None
    with Library.open(args.library) as lib:
        pack_id, _name = default_pack(lib, args.pack)
        if node is None:
            sources = [indexed_image(lib, args.path)]
        else:
            found = search(lib, node, limit=_QUERY_IMAGES)
            if found.kind != "images":
                raise UserError("--query: is:error finds files, not images")
            if not found.ids:
                raise UserError(f"--query {args.query!r}: no image matches")
            sources = list(found.ids)
        index = SimilarIndex(lib, pack_id)
        index.refresh()
        neighbours = index.similar_to(sources, k=args.k)
        rows: list[dict[str, Any]] = []
        for n in neighbours:
            rows.append({"image_id": n.image_id, "score": round(n.score, 4),
                         "paths": present_paths(lib, n.image_id)})
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for row in rows:
            where = row["paths"][0] if row["paths"] else f"(image {row['image_id']}, no file)"
            print(f"{row['score']:.3f}  {where}")
    sys.stdout.flush()
    return 0
