"""Animesion's CSV layouts.

DAF:re (dafre-faces, dafre-full)::

    labels/classid_classname.csv      class_id,class_name          (no header)
    labels/{train,val,test}.csv       class_id,dir                 (no header)
    labels/{split}_tags.csv           optional, with a header; column tags_cat0 holds the
                                      general tags as a Python list literal "['a', 'b']"
    faces/<dir> or fullMin256/<dir>   the images

moeImouto and iCartoonFace, as Animesion prepares them::

    classid_classname.csv             class_id,class_name (moeImouto names carry "NNN_")
    {train,test}.csv                  class_id,dir (no header); val.csv is read when present
    data/<dir>                        the images
"""

from __future__ import annotations

import ast
from pathlib import Path

from training.data.csvfiles import read_class_id_rows, read_class_names, read_rows, require_file
from training.data.existing import keep_existing
from training.data.folder import character_from_folder
from training.data.samples import SPLITS, LabelledSet, Sample
from training.errors import DataError

DAFRE_IMAGE_DIRS = {"dafre-faces": "faces", "dafre-full": "fullMin256"}


def parse_tag_list(text: str) -> tuple[str, ...]:
    """tags_cat0 cells are list literals; plain space separated text is accepted too."""
    text = text.strip()
    if text.startswith("["):
        try:
            value = ast.literal_eval(text)  # literals only: never evaluates code
        except (ValueError, SyntaxError):
            raise ValueError(f"cannot parse tag list {text[:60]!r}") from None
        if not isinstance(value, list | tuple):
            raise ValueError(f"tag list is a {type(value).__name__}, not a list")
        return tuple(str(t).strip().replace(" ", "_") for t in value if str(t).strip())
    return tuple(text.split())


def _read_tags(path: Path) -> dict[str, tuple[str, ...]]:
    """dir -> tags from a `{split}_tags.csv` (header row with at least dir and tags_cat0)."""
    rows = read_rows(path)
    header: list[str] | None = None
    tags: dict[str, tuple[str, ...]] = {}
    for number, row in rows:
        if header is None:
            header = [h.lower() for h in row]
            for needed in ("dir", "tags_cat0"):
                if needed not in header:
                    raise DataError(f"header has no {needed!r} column (found {row})", path, number)
            continue
        cells = dict(zip(header, row, strict=False))  # short rows: missing cells
        try:
            tags[cells.get("dir", "")] = parse_tag_list(cells.get("tags_cat0", ""))
        except ValueError as exc:
            raise DataError(str(exc), path, number) from None
    return tags


def _read_split_files(
    kind: str,
    root: Path,
    labels_dir: Path,
    image_dir: Path,
    classes: list[str],
    splits: tuple[str, ...],
    required: tuple[str, ...],
) -> LabelledSet:
    samples: list[Sample] = []
    split_of: list[str] = []
    lines: list[tuple[str, int]] = []
    found = []
    for split in splits:
        path = labels_dir / f"{split}.csv"
        if not path.is_file():
            if split in required:
                raise DataError(f"missing {split} split file", path)
            continue
        found.append(split)
        tags_path = labels_dir / f"{split}_tags.csv"
        tags = _read_tags(tags_path) if tags_path.is_file() else None
        for number, class_id, rel in read_class_id_rows(path):
            if class_id >= len(classes):
                raise DataError(
                    f"class id {class_id} is not in classid_classname.csv ({len(classes)} classes)",
                    path,
                    number,
                )
            samples.append(
                Sample(
                    path=image_dir / rel,
                    character=classes[class_id],
                    tags=tags.get(rel) if tags is not None else None,
                )
            )
            split_of.append(split)
            lines.append((str(path), number))
    if not samples:
        raise DataError(f"the split files list no images ({', '.join(found)})", labels_dir)
    notes: list[str] = []
    samples, kept = keep_existing(samples, lines, notes)
    return LabelledSet(
        kind=kind,
        root=root,
        samples=samples,
        classes=classes,
        split_of=[split_of[i] for i in kept],
        notes=notes,
    )


def read_dafre(root: Path, kind: str = "dafre-faces") -> LabelledSet:
    root = Path(root)
    if not root.is_dir():
        raise DataError("data folder does not exist", root)
    labels = root / "labels"
    classes = read_class_names(require_file(labels / "classid_classname.csv", "class name file"))
    image_dir = root / DAFRE_IMAGE_DIRS[kind]
    if not image_dir.is_dir():
        raise DataError(f"missing image folder {DAFRE_IMAGE_DIRS[kind]}/", image_dir)
    return _read_split_files(kind, root, labels, image_dir, classes, SPLITS, ("train",))


def read_animesion_csv(root: Path, kind: str) -> LabelledSet:
    """moeImouto / iCartoonFace: train.csv and test.csv beside classid_classname.csv, images in data/."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("data folder does not exist", root)
    names = read_class_names(root / "classid_classname.csv")
    if kind == "moeimouto":
        names = [character_from_folder(n) for n in names]
    image_dir = root / "data"
    if not image_dir.is_dir():
        raise DataError("missing image folder data/", image_dir)
    return _read_split_files(kind, root, root, image_dir, names, SPLITS, ("train",))
