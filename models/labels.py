"""Label tables of a pack: CSV files with the header ``name,category,threshold``."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from models.errors import PackError

CATEGORIES = ("general", "character", "copyright", "artist", "meta", "rating")
HEADER = ["name", "category", "threshold"]


class Label(NamedTuple):
    name: str
    category: str
    threshold: float


def read_labels(path: Path) -> list[Label]:
    """Parse a label CSV; every problem is reported as ``file: line N: ...``."""
    where = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a BOM from spreadsheet tools
    except FileNotFoundError:
        raise PackError(f"{where}: file is missing") from None
    except UnicodeDecodeError as exc:
        raise PackError(f"{where}: not UTF-8 text ({exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip() for c in rows[0]] != HEADER:
        got = ",".join(rows[0]) if rows else "nothing"
        raise PackError(f"{where}: line 1: expected header {','.join(HEADER)}, got {got!r}")
    labels: list[Label] = []
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 3:
            raise PackError(f"{where}: line {number}: expected 3 columns, got {len(row)}")
        name, category, threshold_text = (c.strip() for c in row)
        if not name:
            raise PackError(f"{where}: line {number}: name is empty")
        if category not in CATEGORIES:
            raise PackError(
                f"{where}: line {number}: category: expected one of {', '.join(CATEGORIES)}, "
                f"got {category!r}"
            )
        try:
            threshold = float(threshold_text)
        except ValueError:
            raise PackError(
                f"{where}: line {number}: threshold: expected a number, got {threshold_text!r}"
            ) from None
        if not (0.0 <= threshold <= 1.0) or math.isnan(threshold):
            raise PackError(f"{where}: line {number}: threshold: {threshold} is not in [0, 1]")
        if (name, category) in seen:
            raise PackError(f"{where}: line {number}: duplicate label {category}:{name}")
        seen.add((name, category))
        labels.append(Label(name, category, threshold))
    if not labels:
        raise PackError(f"{where}: no labels")
    return labels


def write_labels(path: Path, labels: Iterable[Label]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        for label in labels:
            writer.writerow([label.name, label.category, repr(float(label.threshold))])
