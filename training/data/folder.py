"""Folder-per-class data sets (moeImouto's original layout): root/<character>/<image>."""

from __future__ import annotations

import re
from pathlib import Path

from training.data.samples import LabelledSet, Sample, is_image
from training.errors import DataError

# moeImouto folders are "000_hatsune_miku"; the Danbooru tag is the part after the number.
_NUMBER_PREFIX = re.compile(r"^\d{3}_(?=.)")


def character_from_folder(name: str, strip_number: bool = True) -> str:
    return _NUMBER_PREFIX.sub("", name) if strip_number else name


def read_folder(root: Path, *, kind: str = "folder", strip_number: bool = True) -> LabelledSet:
    """Each sub-folder is one character; folders starting with "_" or "." are metadata."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("data folder does not exist", root)
    samples: list[Sample] = []
    seen: dict[str, str] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith(("_", ".")):
            continue
        character = character_from_folder(folder.name, strip_number)
        if character in seen:
            raise DataError(
                f"folders {seen[character]!r} and {folder.name!r} name the same character", root
            )
        seen[character] = folder.name
        files = sorted(p for p in folder.rglob("*") if p.is_file() and is_image(p))
        samples.extend(Sample(path=p, character=character) for p in files)
    if not samples:
        raise DataError("no images found in sub-folders (expected <root>/<character>/<image>)", root)
    return LabelledSet(kind=kind, root=root, samples=samples)
