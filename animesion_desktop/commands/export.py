"""``animesion export FORMAT DEST [QUERY]``: the library's labels as a training set, captions,
sidecars or a table. Never writes outside DEST unless asked (``--beside``), never overwrites
without ``--overwrite``; ``--dry-run`` lists what would be written."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from animesion_desktop.commands.progress import drive
from animesion_desktop.commands.shared import print_first
from animesion_desktop.core.exchange import EXPORT_FORMATS, ExportOptions, export
from animesion_desktop.core.exchange.options import LABEL_MODES, LINK_MODES
from animesion_desktop.core.library import Library

SHOWN = 20


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export labels: a training set (ours, dafre), captions, XMP, CSV, JSON",
        description="Formats: ours (training set read by `animesion-train --dataset export`), "
        "dafre (DAF:re / Animesion layout), kohya (caption .txt per image), xmp (sidecars), "
        "csv and json (one row / object per image).")
    p.add_argument("format", choices=EXPORT_FORMATS, metavar="FORMAT",
                   help=", ".join(EXPORT_FORMATS))
    p.add_argument("dest", type=Path, metavar="DEST", help="folder to write (csv/json: or a file)")
    p.add_argument("query", nargs="?", default="", metavar="QUERY",
                   help="export only what this search finds (default: every image)")
    p.add_argument("--labels", choices=LABEL_MODES, default=None,
                   help="effective tags (default) or your accepted decisions only "
                   "(default for ours/dafre: accepted)")
    p.add_argument("--link", choices=LINK_MODES, default="hardlink",
                   help="how images reach ours/dafre/kohya exports (default: hardlink, copy "
                   "across file systems)")
    p.add_argument("--min-per-class", type=int, default=3, metavar="N",
                   help="ours/dafre: characters with fewer images are left out (and reported)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/val/test split")
    p.add_argument("--split", type=float, nargs=3, default=(0.8, 0.1, 0.1),
                   metavar=("TRAIN", "VAL", "TEST"), help="split fractions (ours/dafre)")
    p.add_argument("--overwrite", action="store_true", help="replace files that exist")
    p.add_argument("--dry-run", action="store_true", help="list what would be written, write nothing")
    p.add_argument("--beside", action="store_true",
                   help="xmp/kohya: write the sidecars next to your images instead of under DEST")
    k = p.add_argument_group("kohya captions")
    k.add_argument("--spaces", action="store_true", help="blue_hair -> blue hair")
    k.add_argument("--no-character-first", dest="character_first", action="store_false",
                   help="do not put character and copyright tags first")
    k.add_argument("--threshold", type=float, help="also caption predictions scoring at least this")
    k.add_argument("--exclude", action="append", default=[], metavar="TAG", help="leave TAG out")
    k.add_argument("--keep-tokens", type=int, default=0, metavar="N",
                   help="the first N tokens are character/copyright (kohya's keep_tokens)")
    p.set_defaults(run=run)


def options_from(args: argparse.Namespace) -> ExportOptions:
    return ExportOptions(
        format=args.format, dest=args.dest, query=args.query, labels=args.labels or "",
        link=args.link,
        min_per_class=args.min_per_class, seed=args.seed, split_fractions=tuple(args.split),
        overwrite=args.overwrite, dry_run=args.dry_run, beside=args.beside, spaces=args.spaces,
        character_first=args.character_first, threshold=args.threshold,
        exclude=tuple(args.exclude), keep_tokens=args.keep_tokens,
    )


def run(args: argparse.Namespace) -> int:
    opts = options_from(args)
    cancel = threading.Event()
    with Library.open(args.library) as lib:
        summary = drive(export(lib, opts, cancel), cancel)  # ExportError: one line, exit 2
    if summary.dry_run:
        print_first(summary.planned, lambda path: f"  would write {path}", SHOWN)
    for line in summary.lines():
        print(line)
    print_first(summary.left_out, lambda lo: f"  left out: {lo.what}: {lo.reason}", SHOWN,
                more="  ... and {} more"
                + (" (all in left_out.csv)" if opts.format in ("ours", "dafre") else ""))
    return 130 if summary.cancelled else 0
