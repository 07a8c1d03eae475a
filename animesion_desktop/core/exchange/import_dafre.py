"""``dafre``: the DAF:re / Animesion layout (as the dafre export writes it):
``labels/classid_classname.csv`` (class_id,class_name), ``labels/{train,val,test}.csv``
(class_id,dir), optional ``labels/{split}_tags.csv`` (tags_cat0 list literals), images under
``faces/`` (or ``fullMin256/``)."""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Iterator
from pathlib import Path

from animesion_desktop.core.exchange.entries import Entry, Item, Known, Problem, decode_text
from animesion_desktop.core.exchange.options import ImportOptions
from animesion_desktop.core.library.tags import normalize_name

SPLITS = ("train", "val", "test")
IMAGE_DIRS = ("faces", "fullMin256")


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(decode_text(path.read_bytes()), newline=""))
    for row in reader:
        if any(c.strip() for c in row):
            yield reader.line_num, row


def _tag_list(text: str) -> list[str]:
    text = text.strip()
    if not text.startswith("["):
        return text.split()
    value = ast.literal_eval(text)  # literals only: never runs code
    if not isinstance(value, list | tuple):
        raise ValueError(f"a {type(value).__name__}, not a list")
    return [normalize_name(str(v)) for v in value if str(v).strip()]


def read_dafre_layout(src: Path, opts: ImportOptions, known: Known) -> Iterator[Item]:
    labels = src / "labels"
    names_file = labels / "classid_classname.csv"
    image_dir = next((src / d for d in IMAGE_DIRS if (src / d).is_dir()), None)
    if not names_file.is_file() or image_dir is None:
        yield Problem(str(src), "not a DAF:re layout (needs labels/classid_classname.csv and faces/)")
        return
    classes: dict[int, str] = {}
    try:
        for line, row in _rows(names_file):
            try:
                classes[int(row[0])] = normalize_name(row[1])
            except (ValueError, IndexError):
                yield Problem(f"{names_file}:{line}", f"expected class_id,class_name, found {row}; skipped")
    except (OSError, ValueError) as exc:
        yield Problem(str(names_file), f"{exc}; skipped")
        return
    for split in SPLITS:
        path = labels / f"{split}.csv"
        if not path.is_file():
            continue
        tags: dict[str, list[str]] = {}
        tags_path = labels / f"{split}_tags.csv"
        try:
            if tags_path.is_file():
                header: list[str] | None = None
                for line, row in _rows(tags_path):
                    if header is None:
                        header = [h.strip().lower() for h in row]
                        continue
                    cells = dict(zip(header, row, strict=False))
                    try:
                        tags[cells.get("dir", "")] = _tag_list(cells.get("tags_cat0", ""))
                    except (ValueError, SyntaxError) as exc:
                        yield Problem(f"{tags_path}:{line}", f"tags_cat0: not a list literal ({exc}); skipped")
            for line, row in _rows(path):
                where = f"{path}:{line}"
                try:
                    name = classes[int(row[0])]
                    rel = row[1].strip()
                except (ValueError, IndexError, KeyError):
                    yield Problem(where, f"expected a known class_id,dir, found {row}; skipped")
                    continue
                file = image_dir / rel
                if not file.is_file():
                    yield Problem(where, f"{file} is listed but missing; skipped")
                    continue
                decisions = [("character", name, "accepted")]
                decisions += [("general", t, "accepted") for t in tags.get(rel, []) if t]
                yield Entry(where, file=file, decisions=decisions)
        except (OSError, ValueError) as exc:
            yield Problem(str(path), f"{exc}; skipped")
