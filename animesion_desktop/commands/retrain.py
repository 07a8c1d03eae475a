"""``animesion retrain [--from-pack NAME] [--minutes M]``: a model from your own labels.

Exports your accepted labels (``ours``), runs ``animesion-train train`` in a separate process
(its progress streamed here), turns the result into a pack, installs it, prints its figures
beside the old pack's, activates it with ``--activate`` and offers to re-tag. Ctrl-C stops the
training process and leaves the library exactly as it was.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from animesion_desktop.commands.progress import drive
from animesion_desktop.core.exchange.retrain import RetrainOptions, figure_lines, retrain
from animesion_desktop.core.library import Library


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "retrain", help="train a model pack from your accepted labels, install it, re-tag",
        description="Exports your accepted labels, trains in a separate `animesion-train` "
        "process, installs the pack and compares it with the old one. Flags after `--` go to "
        "`animesion-train train` unchanged (e.g. `-- --model resnet18 --image-size 128`).")
    p.add_argument("--minutes", type=float, default=10.0, help="training time budget (default 10)")
    p.add_argument("--from-pack", metavar="NAME",
                   help="fine-tune this installed pack (default: an active pack sharing your "
                   "characters, else the default recipe)")
    p.add_argument("--name", help="name of the new pack (default: retrained-DATE-TIME)")
    p.add_argument("--work", type=Path, help="work folder (default: beside the library's packs)")
    p.add_argument("--query", default="", help="train only on images this search finds")
    p.add_argument("--min-per-class", type=int, default=3, metavar="N",
                   help="characters with fewer accepted images are left out (and reported)")
    p.add_argument("--activate", action="store_true",
                   help="activate the new pack (and deactivate the one it replaces)")
    p.add_argument("--tag", action=argparse.BooleanOptionalAction, default=None,
                   help="re-tag the library with the new pack (default: ask on a terminal)")
    p.add_argument("train_args", nargs=argparse.REMAINDER,
                   help="after --: more `animesion-train train` flags")
    p.set_defaults(run=run)


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def run(args: argparse.Namespace) -> int:
    extra = list(args.train_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    opts = RetrainOptions(minutes=args.minutes, from_pack=args.from_pack, name=args.name,
                          work=args.work, query=args.query, min_per_class=args.min_per_class,
                          activate=args.activate, train_args=tuple(extra))
    cancel = threading.Event()
    with Library.open(args.library) as lib:
        # RetrainError, ChildError, ExportError are UserErrors: one line, exit 2.
        result = drive(retrain(lib, opts, cancel), cancel, unit="s")
        if result.export is not None:
            for line in result.export.lines():
                print(line)
        if result.cancelled:
            print("retrain cancelled: the library is as it was")
            return 130
        ts = result.train_summary
        if ts:
            print(f"trained {ts.get('epochs_run')} epochs / {ts.get('steps')} steps in "
                  f"{(ts.get('elapsed_seconds') or 0) / 60:.1f} min ({ts.get('stopped_by')})"
                  + (f", fine-tuned from {result.base}" if result.base else ""))
        for line in figure_lines(result):
            print(line)
        state = "active" if result.activated else "installed, inactive (`animesion packs "\
            f"activate {result.name}` to use it)"
        print(f"pack {result.name}: {state}; work folder {result.work}")
        tag = args.tag if args.tag is not None else _ask(f"Tag the library with {result.name} now?")
        if tag:
            from animesion_desktop.core.tagging.job import tag_images

            summary = drive(tag_images(lib, result.name, cancel), cancel, unit="img")
            print(summary.line())
        else:
            print(f"re-tag with `animesion tag --pack {result.name}`")
    return 0
