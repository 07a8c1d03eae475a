"""Writing a planned export: checked first (inside DEST, nothing overwritten), then file by file.

Text files are written to a temporary name and renamed, so an interrupted export never leaves
a half-written labels.csv; images are hard-linked, symlinked or copied as asked (a hard link
across file systems falls back to a copy, counted in the summary).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from animesion_desktop.core.errors import UserError
from animesion_desktop.core.exchange.plan import ExportSummary, Plan
from animesion_desktop.core.jobs import Job, Progress

SHOWN = 5


class ExportError(UserError):
    """An export that cannot be written as asked; nothing has been written."""


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def check(plan: Plan, dest: Path, *, beside: bool, overwrite: bool) -> None:
    """Refuse targets outside DEST (unless they are sidecars the user asked for) and existing
    files (unless --overwrite), naming the first few."""
    root = dest.expanduser().resolve()
    outside, existing, seen = [], [], set()
    for out in plan.outputs:
        # resolve() follows symlinks already in DEST: a link pointing out is caught here too.
        target = out.target.expanduser().resolve()
        if target in seen:
            raise ExportError(f"{out.target}: two images would be written to the same file")
        seen.add(target)
        if not _inside(target, root) and not (beside and out.beside):
            outside.append(out.target)
        if out.target.exists() or out.target.is_symlink():
            existing.append(out.target)
    if outside:
        raise ExportError(
            f"{len(outside)} files would be written outside {dest} (e.g. {outside[0]}); "
            "nothing was written"
        )
    if existing and not overwrite:
        shown = ", ".join(str(p) for p in existing[:SHOWN])
        raise ExportError(
            f"{len(existing)} files already exist ({shown}{', ...' if len(existing) > SHOWN else ''}); "
            "pass --overwrite to replace them; nothing was written"
        )


def _write_text(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, target)


def _place_image(target: Path, source: Path, mode: str) -> bool:
    """Returns False when a hard link was asked for but a copy was made."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    if mode == "symlink":
        target.symlink_to(source.resolve())
        return True
    if mode == "hardlink":
        try:
            os.link(source, target)
            return True
        except OSError:  # another file system, or one without hard links
            shutil.copy2(source, target)
            return False
    shutil.copy2(source, target)
    return True


def write(plan: Plan, summary: ExportSummary, link: str, cancel: threading.Event) -> Job[ExportSummary]:
    total = len(plan.outputs)
    yield Progress("writing", 0, total)
    for n, out in enumerate(plan.outputs, 1):
        if cancel.is_set():
            summary.cancelled = True
            break
        if out.text is not None:
            _write_text(out.target, out.text)
        elif out.source is not None and not _place_image(out.target, out.source, link):
            summary.copied_instead_of_linked += 1
        summary.files = n
        if n % 50 == 0 or n == total:
            yield Progress("writing", n, total, out.target.name)
    return summary
