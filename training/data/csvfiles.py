"""CSV reading that names the file and line of anything it cannot use."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from training.errors import DataError


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DataError(f"missing {what}", path)
    return path


def read_rows(path: Path, *, min_columns: int = 1) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-empty row; a row that is too short is an error."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for number, row in enumerate(csv.reader(f), start=1):
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) < min_columns:
                    raise DataError(
                        f"expected at least {min_columns} columns, found {len(row)}", path, number
                    )
                yield number, [cell.strip() for cell in row]
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason})", path) from None
    except csv.Error as exc:
        raise DataError(f"malformed CSV ({exc})", path) from None


def read_class_id_rows(path: Path) -> Iterator[tuple[int, int, str]]:
    """Rows of `class_id,value` files (no header): (line, class id, value)."""
    for number, row in read_rows(path, min_columns=2):
        try:
            class_id = int(row[0])
        except ValueError:
            raise DataError(f"class id {row[0]!r} is not an integer", path, number) from None
        if class_id < 0:
            raise DataError(f"class id {class_id} is negative", path, number)
        if not row[1]:
            raise DataError("empty second column", path, number)
        yield number, class_id, row[1]


def read_class_names(path: Path) -> list[str]:
    """`classid_classname.csv`: ids must be 0..N-1, each once."""
    names: dict[int, str] = {}
    for number, class_id, name in read_class_id_rows(require_file(path, "class name file")):
        if class_id in names:
            raise DataError(f"class id {class_id} appears twice", path, number)
        names[class_id] = name
    if sorted(names) != list(range(len(names))):
        missing = sorted(set(range(max(names, default=-1) + 1)) - set(names))[:5]
        raise DataError(f"class ids are not 0..{len(names) - 1} (missing {missing})", path)
    return [names[i] for i in range(len(names))]
