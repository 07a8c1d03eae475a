"""``csv``: a table with a header and a ``path`` (or ``hash``) column, such as our csv export,
the ``ours`` labels.csv, or a spreadsheet. Paths are relative to the table's folder (or its
``images/``). With ``accepted`` / ``rejected`` columns (``category:name`` entries, as our csv
export writes them) those decisions are imported; otherwise ``character``, ``copyright``,
``rating`` and ``tags`` / ``general`` (space separated) are accepted."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from animesion_desktop.core.exchange.entries import (
    Decision,
    Entry,
    Item,
    Known,
    Problem,
    decode_text,
    tag_token,
)
from animesion_desktop.core.exchange.import_booru import RATINGS
from animesion_desktop.core.exchange.options import ImportOptions

ALIASES = {"file": "path", "filename": "path", "image": "path", "sha256": "hash",
           "characters": "character", "copyrights": "copyright", "series": "copyright",
           "general": "tags"}
TABLE_NAMES = ("images.csv", "labels.csv")


def table_path(src: Path) -> Path | None:
    if src.is_file():
        return src
    return next((src / n for n in TABLE_NAMES if (src / n).is_file()), None)


def _row_decisions(cells: dict[str, str], known: Known, where: str,
                   decisions_only: bool) -> tuple[list[Decision], list[Problem]]:
    out: list[Decision] = []
    problems: list[Problem] = []
    if decisions_only:
        for column, state in (("accepted", "accepted"), ("rejected", "rejected")):
            for token in cells.get(column, "").split():
                tag = tag_token(token, known)
                if tag:
                    out.append((tag[0], tag[1], state))
        return out, problems
    for column in ("character", "copyright"):
        out += [(column, t[1], "accepted") for n in cells.get(column, "").split()
                if (t := tag_token(n, {}))]
    for token in cells.get("tags", "").split():
        tag = tag_token(token, known)
        if tag:
            out.append((tag[0], tag[1], "accepted"))
    rating = cells.get("rating", "").strip()
    if rating:
        name = RATINGS.get(rating.lower())
        if name is None:
            problems.append(Problem(where, f"rating: unknown value {rating!r}; the rating was skipped"))
        else:
            out.append(("rating", name, "accepted"))
    return list(dict.fromkeys(out)), problems


def read_csv_table(src: Path, opts: ImportOptions, known: Known) -> Iterator[Item]:
    table = table_path(src)
    if table is None:
        yield Problem(str(src), f"no table to read (give a .csv file, or a folder with {' or '.join(TABLE_NAMES)})")
        return
    try:
        text = decode_text(table.read_bytes())
    except (OSError, ValueError) as exc:
        yield Problem(str(table), f"{exc}; skipped")
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    decisions_only = False
    try:
        for row in reader:
            where = f"{table}:{reader.line_num}"
            if header is None:
                header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in row]
                if "path" not in header and "hash" not in header:
                    yield Problem(where, f"header has no 'path' or 'hash' column (found {row}); skipped")
                    return
                decisions_only = "accepted" in header or "rejected" in header
                continue
            if not any(cell.strip() for cell in row):
                continue
            cells = dict(zip(header, row, strict=False))
            rel, digest = cells.get("path", "").strip(), cells.get("hash", "").strip().lower()
            file = None
            if rel:
                file = Path(rel) if Path(rel).is_absolute() else table.parent / rel
                if not file.exists() and (table.parent / "images" / rel).exists():
                    file = table.parent / "images" / rel
            if digest and (len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest)):
                yield Problem(where, f"hash: not a SHA-256 hex digest ({digest[:20]!r}); row skipped")
                continue
            if not digest and (file is None or not file.exists()):
                yield Problem(where, f"path: {rel or '(empty)'} does not exist; row skipped")
                continue
            decisions, problems = _row_decisions(cells, known, where, decisions_only)
            yield from problems
            if decisions:
                yield Entry(where, file=None if digest else file, hash=digest or None,
                            decisions=decisions)
    except csv.Error as exc:
        yield Problem(f"{table}:{reader.line_num}", f"malformed CSV ({exc}); the rest was skipped")
