"""Per-epoch logs: one JSON object per line (log.jsonl) and the same numbers flattened (log.csv)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "_"))
        else:
            flat[name] = value
    return flat


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null instead of a file other tools cannot read."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class RunLog:
    def __init__(self, folder: Path, append: bool = False):
        self.jsonl = folder / "log.jsonl"
        self.csv = folder / "log.csv"
        if not append:
            for path in (self.jsonl, self.csv):
                path.unlink(missing_ok=True)

    def write(self, record: dict[str, Any]) -> None:
        record = _clean(record)
        with open(self.jsonl, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        flat = flatten(record)
        new = not self.csv.exists()
        if not new:
            with open(self.csv, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f), [])
        else:
            header = list(flat)
        with open(self.csv, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(header)
            writer.writerow(["" if flat.get(k) is None else flat.get(k) for k in header])

    def records(self) -> list[dict[str, Any]]:
        return read_records(self.jsonl)


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
