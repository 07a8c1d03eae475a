"""The import job: read a source, find each image in the library by content hash, and record
its decisions as labels with source ``import:FORMAT``.

A label the user set (source ``user``) is never changed by an import; labels from earlier
imports are. Images not in the library are reported (``scan=True`` scans the source folder
first). Malformed files and lines are reported one by one and the rest goes on. With
``dry_run`` the same decisions are worked out and counted, and nothing is written.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from animesion_desktop.core.errors import UserError
from animesion_desktop.core.exchange.entries import Entry, Item, Known, Problem
from animesion_desktop.core.exchange.import_booru import read_booru
from animesion_desktop.core.exchange.import_captions import read_captions
from animesion_desktop.core.exchange.import_csv import read_csv_table
from animesion_desktop.core.exchange.import_dafre import read_dafre_layout
from animesion_desktop.core.exchange.import_folders import read_folders
from animesion_desktop.core.exchange.import_xmp import read_xmp_sidecars
from animesion_desktop.core.exchange.options import ImportOptions
from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.library import Library, effective
from animesion_desktop.core.library.schema import Label
from animesion_desktop.core.library.tags import get_or_create_tag
from animesion_desktop.core.scan.hashing import WHOLE_FILE_LIMIT, read_and_hash

Reader = Callable[[Path, ImportOptions, Known], Iterator[Item]]
READERS: dict[str, Reader] = {
    "folders": read_folders, "captions": read_captions, "booru-json": read_booru,
    "xmp": read_xmp_sidecars, "csv": read_csv_table, "dafre": read_dafre_layout,
}
BATCH = 2000  # labels per write transaction
USER = "user"


class ImportSourceError(UserError):
    """An import that cannot start (no such source); problems inside it are reported instead."""


@dataclass
class ImportSummary:
    format: str
    src: Path
    entries: int = 0
    images: int = 0  # library images the source had labels for
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    kept_user: int = 0  # differing decisions the user had made, left as they were
    not_in_library: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    scanned: bool = False
    dry_run: bool = False
    cancelled: bool = False

    def lines(self) -> list[str]:
        verb = "would add" if self.dry_run else "added"
        change = "would change" if self.dry_run else "changed"
        out = [f"import {self.format}: {self.entries} entries for {self.images} library images: "
               f"{verb} {self.added} labels, {change} {self.changed}, {self.unchanged} already so"
               + (f", kept {self.kept_user} of your own decisions" if self.kept_user else "")
               + (" (cancelled)" if self.cancelled else "")]
        if self.not_in_library:
            out.append(f"  {len(self.not_in_library)} images are not in the library "
                       "(scan their folder, or import with --scan)")
        if self.problems:
            out.append(f"  {len(self.problems)} problems (reported above; those files or lines were skipped)")
        return out


def known_categories(lib: Library) -> Known:
    with lib.read() as s:
        # A name in several categories: character wins, then copyright (later rows win).
        rows = s.execute(text(
            "SELECT name, category FROM tags WHERE category IN ('character', 'copyright', 'artist') "
            "ORDER BY CASE category WHEN 'character' THEN 2 WHEN 'copyright' THEN 1 ELSE 0 END"))
        return {n: c for n, c in rows}


def _scan_source(lib: Library, src: Path, cancel: threading.Event) -> Job[None]:
    from animesion_desktop.core.scan import scan_roots

    folder = (src if src.is_dir() else src.parent).resolve()
    # A source inside a root is scanned as that root (nested roots are refused).
    containing = [r.path for r in lib.roots() if folder.is_relative_to(r.path)]
    yield from scan_roots(lib, containing[:1] or [folder], cancel)


def _ids_by_hash(lib: Library, hashes: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    with lib.read() as s:
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            names = {f"h{i}": h for i, h in enumerate(chunk)}
            marks = ", ".join(f":{n}" for n in names)
            found.update((h, int(i)) for h, i in s.execute(
                text(f"SELECT hash, id FROM images WHERE hash IN ({marks})"), names))
    return found


def _hash(path: Path) -> str:
    digest, _ = read_and_hash(os.fsencode(path), WHOLE_FILE_LIMIT + 1)  # hash only, keep no bytes
    return digest


Wanted = dict[tuple[int, str, str], str]  # (image, category, name) -> state


def _decide(session: Session, wanted: Wanted, source: str, summary: ImportSummary,
            apply: bool) -> None:
    """Count (and, with ``apply``, write) what the import changes; user decisions stay."""
    tag_ids: dict[tuple[str, str], int | None] = {}
    touched: set[int] = set()
    for (image_id, category, name), state in wanted.items():
        key = (category, name)
        if key not in tag_ids:
            tag_ids[key] = (get_or_create_tag(session, category, name) if apply else
                            session.execute(text("SELECT id FROM tags WHERE category = :c AND name = :n"),
                                            {"c": category, "n": name}).scalar())
        tag_id = tag_ids[key]
        old = None if tag_id is None else session.get(Label, (image_id, tag_id))
        if old is not None and old.state == state:
            summary.unchanged += 1
            continue
        if old is not None and old.source == USER:
            summary.kept_user += 1
            continue
        if old is None:
            summary.added += 1
        else:
            summary.changed += 1
        if apply:
            assert tag_id is not None
            if old is None:
                session.add(Label(image_id=image_id, tag_id=tag_id, state=state, source=source,
                                  at=time.time()))
            else:
                old.state, old.source, old.at = state, source, time.time()
            touched.add(image_id)
    if apply and touched:
        session.flush()
        effective.refresh_images(session.connection(), sorted(touched))


def import_labels(lib: Library, opts: ImportOptions, cancel: threading.Event) -> Job[ImportSummary]:
    try:
        opts.check()
    except ValueError as exc:
        raise ImportSourceError(str(exc)) from None
    src = opts.src.expanduser()
    if not src.exists():
        raise ImportSourceError(f"{src}: no such file or folder")
    summary = ImportSummary(opts.format, src, dry_run=opts.dry_run)
    if opts.scan and not opts.dry_run:
        yield from _scan_source(lib, src, cancel)
        summary.scanned = True
    known = known_categories(lib)
    entries: list[Entry] = []
    yield Progress("reading", 0, None)
    for item in READERS[opts.format](src, opts, known):
        if isinstance(item, Problem):
            summary.problems.append(item)
            yield Progress("reading", len(entries), None, extra={"problem": item.line()})
            continue
        entries.append(item)
        if len(entries) % 200 == 0:
            yield Progress("reading", len(entries), None)
        if cancel.is_set():
            summary.cancelled = True
            return summary
    summary.entries = len(entries)

    hashes: list[str | None] = []
    for n, entry in enumerate(entries, 1):
        if cancel.is_set():
            summary.cancelled = True
            return summary
        if entry.hash is None and entry.file is not None:
            try:
                entry.hash = _hash(entry.file)
            except OSError as exc:
                summary.problems.append(Problem(entry.where, f"cannot read {entry.file}: {exc.strerror or exc}"))
        hashes.append(entry.hash)
        if n % 100 == 0 or n == len(entries):
            yield Progress("hashing", n, len(entries))
    ids = _ids_by_hash(lib, sorted({h for h in hashes if h}))

    wanted: Wanted = {}
    images: set[int] = set()
    for entry in entries:
        image_id = ids.get(entry.hash or "")
        if image_id is None:
            if entry.hash is not None:
                summary.not_in_library.append(str(entry.file or entry.where))
            continue
        images.add(image_id)
        for category, name, state in entry.decisions:
            wanted[(image_id, category, name)] = state  # a later line wins over an earlier one
    summary.images = len(images)

    source = f"import:{opts.format}"
    items = list(wanted.items())
    for start in range(0, len(items), BATCH):
        if cancel.is_set():
            summary.cancelled = True
            break
        batch = dict(items[start : start + BATCH])
        if opts.dry_run:
            with lib.read() as s:
                _decide(s, batch, source, summary, apply=False)
        else:
            # Counted on the writer, inside the transaction that writes: what is counted is
            # exactly what was decided against the labels as they were at that moment.
            part = ImportSummary(opts.format, src)

            def write_batch(s: Session, b: Wanted = batch, p: ImportSummary = part) -> None:
                _decide(s, b, source, p, apply=True)

            lib.write(write_batch)
            summary.added += part.added
            summary.changed += part.changed
            summary.unchanged += part.unchanged
            summary.kept_user += part.kept_user
        yield Progress("labelling", min(start + BATCH, len(items)), len(items))
    return summary
