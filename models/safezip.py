"""Extracting a pack archive without trusting it.

Refused: members with absolute paths, drive letters or ``..`` parts, symlinks and other
special files, duplicate names, more than ``max_members`` entries, and more than
``max_bytes`` of uncompressed data (counted while writing, not taken from the header, which
an archive can lie about).
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from models.errors import PackError

DEFAULT_MAX_BYTES = 8 * 1024**3  # a ViT-L pack is ~1.2 GB; leave room, refuse bombs
DEFAULT_MAX_MEMBERS = 10_000
_CHUNK = 1024 * 1024


def _check_member(info: zipfile.ZipInfo, where: str) -> PurePosixPath:
    name = info.filename
    if "\\" in name or "\x00" in name:
        raise PackError(f"{where}: {name}: unsafe path (backslash or NUL)")
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        raise PackError(f"{where}: {name}: unsafe path (absolute)")
    if any(part == ".." for part in path.parts):
        raise PackError(f"{where}: {name}: unsafe path (goes outside the pack with '..')")
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver stored no file type
    if kind == stat.S_IFLNK:
        raise PackError(f"{where}: {name}: symbolic links are not allowed in a pack")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise PackError(f"{where}: {name}: special files are not allowed in a pack")
    return path


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> None:
    """Extract ``archive`` into the existing empty folder ``dest`` after checking every member."""
    where = archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackError(f"{where}: not a readable zip archive ({exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > max_members:
            raise PackError(f"{where}: {len(members)} members, more than the {max_members} allowed")
        seen: set[str] = set()
        declared = 0
        checked = []
        for info in members:
            path = _check_member(info, where)
            key = str(path).rstrip("/").lower()  # case-insensitive file systems would merge them
            if key in seen:
                raise PackError(f"{where}: {info.filename}: duplicate member")
            seen.add(key)
            declared += info.file_size
            checked.append((info, path))
        if declared > max_bytes:
            raise PackError(
                f"{where}: uncompressed size {declared} bytes is over the limit of {max_bytes}"
            )
        root = dest.resolve()
        written = 0
        for info, path in checked:
            target = (root / Path(*path.parts)) if path.parts else root
            if root not in target.resolve().parents and target.resolve() != root:
                raise PackError(f"{where}: {info.filename}: unsafe path")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, target.open("wb") as out:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise PackError(
                                f"{where}: uncompressed size is over the limit of {max_bytes} bytes"
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise PackError(f"{where}: {info.filename}: cannot be extracted ({exc})") from None


def pack_root(folder: Path) -> Path:
    """The folder holding pack.json: the extraction root, or its single top-level folder
    (zipping a folder from a file manager adds one level)."""
    if (folder / "pack.json").is_file():
        return folder
    entries = [p for p in folder.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / "pack.json").is_file():
        return entries[0]
    return folder


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
