"""``animesion watch [ROOT...]``: keep the library in step with folders until Ctrl-C."""

from __future__ import annotations

import argparse
import threading
import time

from animesion_desktop.commands.progress import drive
from animesion_desktop.commands.scan import print_summary, quiet_pillow_warnings
from animesion_desktop.core.errors import UserError
from animesion_desktop.core.library import Library, files
from animesion_desktop.core.scan import ScanSummary, Watcher, scan_roots


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "watch",
        help="watch image folders and index changes as they happen",
        description=(
            "Scan folders once (so changes made while nobody was watching are caught), then "
            "watch them: new and changed files are indexed, renamed and moved ones keep their "
            "labels, deleted ones are marked missing. Stop with Ctrl-C (or SIGTERM)."
        ),
    )
    p.add_argument(
        "roots", nargs="*", metavar="ROOT",
        help="folders to watch (default: every folder already in the library)",
    )
    p.add_argument("--no-scan", action="store_true", help="skip the first scan")
    p.add_argument(
        "--quiet-seconds", type=float, default=0.75, metavar="S",
        help="record changes after this long without new events (default: 0.75)",
    )
    p.add_argument("--polling", action="store_true",
                   help="poll the folders instead of using notifications (network drives)")
    p.set_defaults(run=run)


def _report(summary: ScanSummary) -> None:
    if summary.changes:
        stamp = time.strftime("%H:%M:%S")
        summary.seconds = round(summary.seconds, 1)
        print(f"[{stamp}] ", end="")
        print_summary(summary)


def run(args: argparse.Namespace) -> int:
    quiet_pillow_warnings()
    if args.quiet_seconds <= 0:
        raise UserError("--quiet-seconds must be positive")
    with Library.open(args.library) as lib:
        if not args.roots and not files.root_paths(lib):
            raise UserError("no folders to watch: name one, e.g. `animesion watch ~/Pictures/anime`")
        cancel = threading.Event()
        watcher = Watcher(
            lib, args.roots or None, on_flush=_report, quiet=args.quiet_seconds,
            polling=args.polling, cancel=cancel,
        )
        watcher.start()  # before the scan, so nothing that happens during it is missed
        try:
            if not args.no_scan:
                summary = drive(scan_roots(lib, args.roots or None, cancel), cancel)
                print_summary(summary)
            if not cancel.is_set():
                print("watching; press Ctrl-C to stop", flush=True)
            # Sleep rather than cancel.wait(): this thread then holds no lock when Ctrl-C lands.
            while not cancel.is_set():
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            watcher.stop()
    print("stopped watching")
    return 0
