"""What every import reader yields: an :class:`Entry` (labels for one image, found by file or
by hash) or a :class:`Problem` (a malformed file or line, reported and skipped)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from animesion_desktop.core.library.tags import normalize_name, parse_tag
from animesion_desktop.core.scan import IMAGE_EXTENSIONS

Decision = tuple[str, str, str]  # (category, name, state)


@dataclass
class Entry:
    where: str  # "file" or "file:line", for reports
    file: Path | None = None  # the image, hashed to find it in the library
    hash: str | None = None  # or its content hash, when the source records it
    decisions: list[Decision] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def line(self) -> str:
        return f"{self.where}: {self.message}"


Item = Entry | Problem
# name -> category for the library's known character / copyright / artist tags: a caption or a
# plain keyword naming a known character is imported as that character.
Known = dict[str, str]


def is_image(path: Path) -> bool:
    return path.suffix[1:].lower() in IMAGE_EXTENSIONS


def walk_files(root: Path) -> Iterator[Path]:
    """Every file under ``root``, sorted, not following symlinked folders, skipping hidden ones."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def image_beside(sidecar: Path, suffix: str) -> Path | None:
    """The image a sidecar describes: ``a.jpg.xmp`` -> ``a.jpg``; ``a.xmp`` -> ``a.<image ext>``."""
    inner = sidecar.with_suffix("")  # strip .xmp / .json / .txt
    if is_image(inner):
        return inner if inner.exists() else None
    for candidate in sorted(sidecar.parent.glob(f"{_glob_escape(inner.name)}.*")):
        if candidate != sidecar and is_image(candidate) and candidate.with_suffix("") == inner:
            return candidate
    return None


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def tag_token(token: str, known: Known, default: str = "general") -> tuple[str, str] | None:
    """One tag as people write it in captions and keyword lists: ``blue hair``, ``blue_hair``,
    ``character:shana``, kohya's escaped ``\\(series\\)``. None for an empty token."""
    token = token.strip().replace("\\(", "(").replace("\\)", ")")
    if not token:
        return None
    category, name = parse_tag(token, default)
    if not name:
        return None
    if category == default and ":" not in token:
        category = known.get(name, default)
    return category, name


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; anything else raises ValueError naming
    the first bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None


def read_sidecars(src: Path, suffix: str, missing: str,
                  read: Callable[[Path, Path, str], Iterator[Item]]) -> Iterator[Item]:
    """Every ``suffix`` file under ``src`` whose image is beside it (``a.jpg.json`` or
    ``a.json``), decoded and passed to ``read(sidecar, image, text)``; a :class:`Problem` for
    one without its image (``missing`` says what it is) or that cannot be read as text."""
    for path in walk_files(src):
        if path.suffix.lower() != suffix:
            continue
        image = image_beside(path, suffix)
        if image is None:
            yield Problem(str(path), f"{missing} (no image of that name beside it)")
            continue
        try:
            text = decode_text(path.read_bytes())
        except (OSError, ValueError) as exc:
            yield Problem(str(path), f"{exc}; skipped")
            continue
        yield from read(path, image, text)


def character_name(folder: str, strip_number: bool) -> str:
    name = folder
    if strip_number and len(name) > 4 and name[:3].isdigit() and name[3] == "_":
        name = name[4:]  # moeImouto: "000_hatsune_miku"
    return normalize_name(name)
