"""``animesion import FORMAT SRC``: labels people already have become decisions with source
``import:FORMAT``. Images are found by content hash, wherever they live now; your own decisions
are never changed; a malformed file or line is reported and skipped; ``--dry-run`` counts what
would change and writes nothing."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from animesion_desktop.commands.progress import drive
from animesion_desktop.commands.shared import print_first
from animesion_desktop.core.exchange import IMPORT_FORMATS, ImportOptions
from animesion_desktop.core.exchange.import_job import import_labels
from animesion_desktop.core.library import Library

SHOWN = 20


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import", help="import labels: character folders, captions, booru JSON, XMP, CSV, DAF:re",
        description="Formats: folders (SRC/<character>/<images>), captions (.txt beside images), "
        "booru-json (gallery-dl / Danbooru sidecars), xmp (sidecars: dc:subject, digiKam "
        "TagsList), csv (a table with a path or hash column), dafre (the DAF:re layout).")
    p.add_argument("format", choices=IMPORT_FORMATS, metavar="FORMAT", help=", ".join(IMPORT_FORMATS))
    p.add_argument("src", type=Path, metavar="SRC", help="folder (csv: or the .csv file)")
    p.add_argument("--scan", action="store_true",
                   help="scan SRC first, so images not yet in the library are added and labelled")
    p.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    p.add_argument("--keep-number", dest="strip_number", action="store_false",
                   help="folders: keep a leading 'NNN_' in folder names (dropped by default)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    opts = ImportOptions(format=args.format, src=args.src, dry_run=args.dry_run, scan=args.scan,
                         strip_number=args.strip_number)
    cancel = threading.Event()
    with Library.open(args.library) as lib:
        summary = drive(import_labels(lib, opts, cancel), cancel)
    print_first(summary.problems, lambda problem: f"animesion: {problem.line()}", SHOWN,
                more="animesion: ... and {} more problems", file=sys.stderr)
    print_first(summary.not_in_library, lambda path: f"  not in the library: {path}", SHOWN)
    for line in summary.lines():
        print(line)
    if summary.cancelled:
        return 130
    return 2 if summary.problems else 0
