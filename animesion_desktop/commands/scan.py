"""``animesion scan [ROOT...]``: add folders to the library and bring it up to date with them."""

from __future__ import annotations

import argparse
import threading
import warnings

from PIL import Image

from animesion_desktop.commands.progress import drive
from animesion_desktop.core.errors import UserError
from animesion_desktop.core.library import Library, files
from animesion_desktop.core.scan import ScanSummary, scan_roots
from animesion_desktop.core.similar import duplicates

SHOWN_ERRORS = 20


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "scan",
        help="index image folders: new, changed, moved and missing files",
        description=(
            "Add folders to the library (if new) and scan them: unchanged files are skipped, new "
            "and changed ones are hashed, probed and thumbnailed, moved files keep their labels, "
            "vanished ones are marked missing. Files that cannot be read are listed as errors. "
            "Interrupting (Ctrl-C) keeps everything recorded so far; scanning again carries on."
        ),
    )
    p.add_argument(
        "roots", nargs="*", metavar="ROOT",
        help="folders to scan (default: every folder already in the library)",
    )
    p.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="threads reading files (default: CPU cores + 1, at most 8)",
    )
    p.add_argument(
        "--tag", action="store_true",
        help="also tag new images with the active packs, in the same pass (each file is read "
             "and decoded once for its thumbnail and the models)",
    )
    p.add_argument("--device", default=None, help="with --tag: cpu, cuda, mps (default: best)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="with --tag: images per model batch (default: the pack's)")
    p.add_argument("--precision", choices=("auto", "fp32", "int8", "bf16", "fp16"),
                   default=None,
                   help="with --tag: as for `animesion tag` (default: auto)")
    p.set_defaults(run=run)


def quiet_pillow_warnings() -> None:
    """Images between Pillow's warning size and our pixel limit are fine; the scan already
    refuses larger ones with a recorded error. (Process-wide, set on the command's main thread.)"""
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def print_summary(summary: ScanSummary, shown: int = SHOWN_ERRORS) -> None:
    print(summary.line())
    for path, reason in summary.error_files[:shown]:
        print(f"  error: {path}: {reason}")
    if summary.errors > shown:
        print(f"  ... and {summary.errors - shown} more (search is:error to see them all)")
    for folder in summary.folder_errors[:shown]:
        print(f"  folder skipped: {folder}")


def run(args: argparse.Namespace) -> int:
    quiet_pillow_warnings()
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    with Library.open(args.library) as lib:
        if not args.roots and not files.root_paths(lib):
            raise UserError("no folders to scan: name one, e.g. `animesion scan ~/Pictures/anime`")
        cancel = threading.Event()
        if args.tag:
            return run_one_pass(lib, args, cancel)
        summary = drive(
            scan_roots(lib, args.roots or None, cancel, workers=args.workers), cancel
        )
        if not summary.cancelled:  # near-duplicate hashes of new images, from their thumbnails
            drive(duplicates.hash_images(lib, cancel), cancel, unit="image")
    print_summary(summary)
    return 130 if summary.cancelled else 0


def run_one_pass(lib: Library, args: argparse.Namespace, cancel: threading.Event) -> int:
    from animesion_desktop.core.indexing import index_and_tag

    if args.batch_size is not None and args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    done = drive(index_and_tag(lib, args.roots or None, cancel, device=args.device,
                               batch_size=args.batch_size, workers=args.workers,
                               precision=args.precision), cancel)
    print_summary(done.scan)
    print(done.line().removeprefix(done.scan.line() + "; "))
    for image_id, path, reason in done.tags.failed[:SHOWN_ERRORS]:
        print(f"  not tagged: {path or image_id}: {reason}")
    return 130 if done.cancelled else 0
