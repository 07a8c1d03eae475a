"""Drive a core job on a terminal: a progress bar when attached to one, quiet otherwise."""

from __future__ import annotations

import inspect
import sys
import threading
from typing import TypeVar

from tqdm import tqdm

from animesion_desktop.core.jobs import Job

R = TypeVar("R")


def drive(job: Job[R], cancel: threading.Event, *, unit: str = "file") -> R:
    """Show progress for ``job``; Ctrl-C sets ``cancel`` so the job stops at a safe point."""
    bar: tqdm | None = None
    stage = None
    interrupted = False
    try:
        while True:
            try:
                progress = next(job)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            except KeyboardInterrupt:
                if inspect.getgeneratorstate(job) == inspect.GEN_CLOSED:
                    raise  # it struck inside the job, which ended without a summary
                # Let the job notice the event, commit what it has, and return its summary.
                cancel.set()
                interrupted = True
                continue
            if progress.stage != stage:
                if bar is not None:
                    bar.close()
                stage = progress.stage
                bar = tqdm(
                    total=progress.total, desc=stage, unit=unit, file=sys.stderr,
                    disable=not sys.stderr.isatty(), dynamic_ncols=True,
                )
            if bar is not None:
                if progress.total is not None and bar.total != progress.total:
                    bar.total = progress.total
                bar.n = progress.done
                if progress.message:
                    bar.set_postfix_str(progress.message[-40:], refresh=False)
                bar.refresh()
    finally:
        if bar is not None:
            bar.close()
        if interrupted:
            print("interrupted: what was done so far is saved", file=sys.stderr)
