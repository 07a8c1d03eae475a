"""Listing the image files under a root, fast enough to re-check 100,000 files in seconds.

Paths are bytes from end to end (POSIX names need not be UTF-8). One ``os.scandir`` per folder and
one ``stat`` per file (``DirEntry.stat`` caches it); symlinked folders are never followed, so a
link to a parent cannot loop, and special files (FIFOs, sockets) are never opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from PIL import features

SEP = os.fsencode(os.sep)

_EXTENSIONS = ["jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "bmp", "tif", "tiff"]
if features.check("avif"):
    _EXTENSIONS.append("avif")
IMAGE_EXTENSIONS: frozenset[str] = frozenset(_EXTENSIONS)
_EXT_BYTES = frozenset(e.encode() for e in IMAGE_EXTENSIONS)


def is_image_name(name: bytes) -> bool:
    """Whether a file name has one of the image extensions we index (case-insensitive)."""
    head, dot, ext = name.rpartition(b".")
    return bool(dot and head) and ext.lower() in _EXT_BYTES


class Listed(NamedTuple):
    relpath_raw: bytes  # relative to the root, native separators
    size: int
    mtime_ns: int


@dataclass
class WalkErrors:
    """Folders that could not be listed; files under them must not be taken for missing."""

    folders: list[tuple[bytes, str]] = field(default_factory=list)  # (relpath_raw, reason)

    def covers(self, relpath_raw: bytes) -> bool:
        return any(not folder or relpath_raw.startswith(folder + SEP) for folder, _ in self.folders)


def describe_os_error(exc: OSError) -> str:
    """One line for an OS error, without the path (the caller names the file)."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "not found"
    return (exc.strerror or type(exc).__name__).strip().replace("\n", " ")


def walk_images(
    root: bytes,
    *,
    errors: WalkErrors | None = None,
    exclude: frozenset[bytes] = frozenset(),
) -> Iterator[Listed]:
    """Yield every image-named regular file under ``root`` in a stable (sorted) order.

    ``exclude`` holds absolute folder paths to skip (the library's own thumbnail folder when it
    lies inside a root). Folders that cannot be read are noted in ``errors`` and skipped.
    """
    stack: list[bytes] = [b""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = root + SEP + rel_dir if rel_dir else root
        try:
            with os.scandir(abs_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if errors is not None:
                errors.folders.append((rel_dir, describe_os_error(exc)))
            continue
        prefix = rel_dir + SEP if rel_dir else b""
        subdirs: list[bytes] = []
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.path not in exclude:
                        subdirs.append(prefix + name)
                    continue
                if not is_image_name(name) or not entry.is_file():
                    continue  # broken links, FIFOs, sockets, other files
                st = entry.stat()
            except OSError:
                continue  # vanished while we looked: it is simply not there
            yield Listed(prefix + name, st.st_size, st.st_mtime_ns)
        stack.extend(reversed(subdirs))
