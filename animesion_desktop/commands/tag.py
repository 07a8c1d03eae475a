"""``animesion tag``: run model packs over the images they have not seen yet."""

from __future__ import annotations

import argparse
import sys
import threading

from animesion_desktop.commands.progress import drive
from animesion_desktop.commands.shared import print_first
from animesion_desktop.core.jobs import Job
from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging import PackRun, TagSummary, tag_images

MAX_LISTED_FAILURES = 20


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return n


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tag",
        help="recognize characters and tag images with the installed model packs",
        description="Run the active model packs (or --pack) over the images they have not "
        "looked at yet. A multimodal (ViLT) pack also runs again on images whose accepted tags "
        "changed since, conditioned on them. Ctrl-C stops cleanly; running again continues "
        "where it stopped.",
    )
    p.add_argument("query", nargs="?", default=None, help="only images matching this search")
    p.add_argument("--pack", metavar="NAME", help="run this pack (default: every active pack)")
    p.add_argument("--device", metavar="D", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--force", action="store_true",
                   help="run again on images the pack has already seen (replaces their results)")
    p.add_argument("--precision", choices=("auto", "fp32", "int8", "bf16", "fp16"),
                   default="auto",
                   help="auto (default): fp32 until a faster path has agreed with it on the "
                   "first images; fp32, int8 (CPU), bf16 or fp16 (CUDA) as asked")
    p.add_argument("--batch-size", type=_positive, metavar="N",
                   help="images per model call (default: the pack's choice for the device)")
    p.set_defaults(run=run)


def _announce(job: Job[TagSummary]) -> Job[TagSummary]:
    """Pass progress through, printing each pack's device (and its warnings) once, first."""
    shown: set[str | None] = set()
    while True:
        try:
            progress = next(job)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        pack, device = progress.extra.get("pack"), progress.extra.get("device")
        if device and pack not in shown:
            shown.add(pack)
            for warning in progress.extra.get("warnings") or ():
                print(f"warning: {warning}", file=sys.stderr)
            print(f"{pack}: running on {device}", flush=True)
        yield progress


def run(args: argparse.Namespace) -> int:
    cancel = threading.Event()
    with Library.open(args.library) as lib:
        job = tag_images(lib, args.pack, cancel, query=args.query, force=args.force,
                         device=args.device, batch_size=args.batch_size,
                         precision=args.precision)
        shown = _announce(job)
        try:
            summary: TagSummary | None = drive(shown, cancel, unit="img")
        finally:
            shown.close()
            job.close()  # commits what was inferred before the library closes
    if summary is None:  # interrupted outside the job's own Ctrl-C handling
        return 130
    return report(summary)


def _printable(path: str) -> str:
    """A path that prints whatever bytes its name has (undecodable ones become U+FFFD)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _precision(run: PackRun) -> str:
    from models.precision import LABELS, describe_agreement

    shown = LABELS.get(run.precision or "", run.precision or "")
    checked = describe_agreement(run.agreement) if run.agreement else ""
    return shown + (f" ({checked})" if checked else "")


def report(summary: TagSummary) -> int:
    for run in summary.runs:
        line = f"{run.pack}: {run.tagged} tagged"
        if run.failed:
            line += f", {len(run.failed)} failed"
        if run.done:
            line += f" in {run.seconds:.1f} s ({run.images_per_s:.1f} images/s)"
        elif run.total == 0:
            line += " (nothing new to tag; --force runs again)"
        print(line)
        modes = ([f"{run.conditioned} conditioned on their accepted tags"] if run.conditioned
                 else []) + ([f"{run.retagged} run again because those tags changed"]
                             if run.retagged else [])
        if modes:
            print("  " + "; ".join(modes))
        if run.precision:
            print(f"  precision: {_precision(run)}")
        print_first(run.failed, lambda failed: f"  failed: {_printable(failed[1])}: {failed[2]}",
                    MAX_LISTED_FAILURES)
        if run.cancelled:
            print(f"  stopped with {run.total - run.done} images left; run `animesion tag` "
                  "again to continue")
    return 130 if summary.cancelled else 0
