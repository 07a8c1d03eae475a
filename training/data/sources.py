"""One entry point for every data set kind the `--dataset` option names."""

from __future__ import annotations

import hashlib
from pathlib import Path

from training.data.animesion_csv import DAFRE_IMAGE_DIRS, read_animesion_csv, read_dafre
from training.data.export_format import read_export
from training.data.folder import read_folder
from training.data.samples import LabelledSet
from training.errors import DataError

DATASET_KINDS = (
    "folder",
    "dafre-faces",
    "dafre-full",
    "moeimouto",
    "icartoonface",
    "export",
    "synthetic",
)


def open_dataset(kind: str, path: Path | str | None, synthetic: dict | None = None) -> LabelledSet:
    """Read a data set. `synthetic` holds SyntheticSpec fields for kind "synthetic", whose images
    are generated into `path` first (or reused when that folder already holds the same set)."""
    if kind not in DATASET_KINDS:
        raise DataError(f"unknown data set kind {kind!r} (choose from {', '.join(DATASET_KINDS)})")
    if path is None:
        raise DataError(f"--data PATH is required for --dataset {kind}")
    root = Path(path).expanduser()
    if kind == "synthetic":
        from training.synthetic import SyntheticSpec, write_dataset  # drawing code only when used

        write_dataset(root, SyntheticSpec(**(synthetic or {})))
        return read_export(root, kind="synthetic")
    if not root.is_dir():
        raise DataError("data folder does not exist", root)
    if kind in DAFRE_IMAGE_DIRS:
        return read_dafre(root, kind)
    if kind in ("moeimouto", "icartoonface"):
        # moeImouto is also distributed as one folder per character (the Kaggle release).
        if (root / "classid_classname.csv").is_file():
            return read_animesion_csv(root, kind)
        return read_folder(root, kind=kind)
    if kind == "export":
        return read_export(root)
    return read_folder(root)


def fingerprint(ds: LabelledSet) -> str:
    """sha256 over (relative path, size, labels) of every sample: names the exact data trained on
    without hashing gigabytes of pixels."""
    h = hashlib.sha256()
    for sample in sorted(ds.samples, key=lambda s: ds.relpath(s)):
        try:
            size = sample.path.stat().st_size
        except OSError:
            size = -1
        tags = " ".join(sorted(sample.tags)) if sample.tags else ""
        line = "\t".join(
            [ds.relpath(sample), str(size), sample.character or "", tags,
             sample.copyright or "", sample.rating or ""]
        )
        h.update(line.encode("utf-8") + b"\n")
    return "sha256:" + h.hexdigest()
