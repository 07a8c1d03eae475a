"""The library export format: what `animesion export` writes and training reads.

    <export>/
      export.json   {"format": "animesion-export", "format_version": 1, ...provenance...}
      labels.csv    header row, then one row per image:
                      path        required; relative to the export folder (or to images/),
                                  absolute paths are accepted
                      character   one character tag; several (space separated) or none leave
                                  the character head unlabelled for that image
                      tags        general tags, space separated; "category:name" entries
                                  (character:, copyright:, rating:, general:) are routed to
                                  their head, artist:/meta: ones are ignored
                      copyright   optional, one copyright tag
                      rating      optional: general | sensitive | questionable | explicit
                                  (or g / s / q / e)
                      split       optional: train | val | test
      images/       the images, copied or linked
      classes.csv, tags.csv, left_out.csv   written by `animesion export ours` for people
                    (counts, and what was left out and why); this reader does not need them

The reader is tolerant: column names are case-insensitive with a few aliases, unknown columns
are ignored, and an empty cell means "not labelled" rather than "none".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from training.data.csvfiles import read_rows
from training.data.existing import keep_existing
from training.data.samples import LabelledSet, Sample
from training.errors import DataError

FORMAT_NAME = "animesion-export"
FORMAT_VERSION = 1
COLUMNS = ("path", "character", "tags", "copyright", "rating", "split")
_ALIASES = {
    "file": "path",
    "filename": "path",
    "image": "path",
    "characters": "character",
    "general": "tags",
    "copyrights": "copyright",
    "series": "copyright",
}
_RATINGS = {"g": "general", "s": "sensitive", "q": "questionable", "e": "explicit"}
_SPLIT_ALIASES = {"training": "train", "valid": "val", "validation": "val", "testing": "test"}


def _rating(value: str) -> str | None:
    value = value.strip().lower()
    if not value:
        return None
    return _RATINGS.get(value, value)


def read_export(root: Path, kind: str = "export") -> LabelledSet:
    root = Path(root)
    if not root.is_dir():
        raise DataError("data folder does not exist", root)
    labels = root / "labels.csv"
    if not labels.is_file():
        raise DataError("missing labels.csv (expected an exported data set)", labels)
    meta_path = root / "export.json"
    notes: list[str] = []
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DataError(f"not valid JSON ({exc})", meta_path) from None
        version = meta.get("format_version", FORMAT_VERSION) if isinstance(meta, dict) else None
        if isinstance(version, int) and version > FORMAT_VERSION:
            notes.append(f"{meta_path}: format_version {version} is newer than {FORMAT_VERSION}")

    header: list[str] | None = None
    samples: list[Sample] = []
    split_of: list[str] = []
    lines: list[tuple[str, int]] = []
    seen: set[Path] = set()
    multi_character = duplicates = 0
    for number, row in read_rows(labels):
        if header is None:
            header = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in row]
            if "path" not in header:
                raise DataError(f"header has no 'path' column (found {row})", labels, number)
            continue
        cells = dict(zip(header, row, strict=False))  # short rows: missing cells
        rel = cells.get("path", "")
        if not rel:
            raise DataError("empty path", labels, number)
        path = Path(rel)
        if not path.is_absolute():
            path = root / rel
            if not path.exists() and (root / "images" / rel).exists():
                path = root / "images" / rel
        if path in seen:
            duplicates += 1
            continue
        seen.add(path)

        characters = cells.get("character", "").split()
        copyright_ = cells.get("copyright", "").strip() or None
        rating = _rating(cells.get("rating", ""))
        general: list[str] = []
        for tag in cells.get("tags", "").split():
            category, _, name = tag.partition(":")
            if name and category in ("character", "copyright", "rating", "general", "artist", "meta"):
                if category == "character":
                    characters.append(name)
                elif category == "copyright":
                    copyright_ = copyright_ or name
                elif category == "rating":
                    rating = rating or _rating(name)
                elif category == "general":
                    general.append(name)
            else:
                general.append(tag)
        characters = list(dict.fromkeys(characters))
        if len(characters) > 1:
            multi_character += 1
        split = cells.get("split", "").strip().lower()
        split = _SPLIT_ALIASES.get(split, split)
        if split and split not in ("train", "val", "test"):
            raise DataError(f"unknown split {split!r} (use train, val or test)", labels, number)
        samples.append(
            Sample(
                path=path,
                character=characters[0] if len(characters) == 1 else None,
                tags=tuple(dict.fromkeys(general)) or None,
                copyright=copyright_,
                rating=rating,
            )
        )
        split_of.append(split)
        lines.append((str(labels), number))
    if not samples:
        raise DataError("lists no images", labels)
    if duplicates:
        notes.append(f"{labels}: {duplicates} duplicate paths ignored")
    if multi_character:
        notes.append(
            f"{labels}: {multi_character} images show several characters; "
            "their character head is left unlabelled"
        )
    samples, kept = keep_existing(samples, lines, notes)
    split_of = [split_of[i] for i in kept]
    has_splits = any(split_of)
    if has_splits and not all(split_of):
        raise DataError("the split column is filled for some rows but not all", labels)
    return LabelledSet(
        kind=kind, root=root, samples=samples, split_of=split_of if has_splits else None, notes=notes
    )


def write_export(
    root: Path,
    rows: Iterable[Sequence[str]],
    meta: dict,
    columns: Sequence[str] = ("path", "character", "tags", "copyright", "rating"),
) -> None:
    """Write labels.csv and export.json (images are the caller's business)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    full = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **meta}
    (root / "export.json").write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
