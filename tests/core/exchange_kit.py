"""A small labelled collection for the export / import / retrain tests (imported as
``exchange_kit``: tests/core is on pytest's pythonpath)."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots

CHARACTERS = ("hatsune_miku", "shana", "izumi_konata")


def image(path: Path, seed: int, size: tuple[int, int] = (40, 30)) -> Path:
    rng = random.Random(seed)
    im = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(8):
        im.putpixel((rng.randrange(size[0]), rng.randrange(size[1])),
                    tuple(rng.randrange(256) for _ in range(3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path


def collection(root: Path, counts: Sequence[int] = (5, 4, 2), seed: int = 0) -> dict[str, list[Path]]:
    """``root/<character>/<n>.png``, ``counts[i]`` images of CHARACTERS[i]."""
    out: dict[str, list[Path]] = {}
    n = seed * 1000
    for name, k in zip(CHARACTERS, counts, strict=False):
        out[name] = []
        for i in range(k):
            n += 1
            out[name].append(image(root / name / f"{i:02d}.png", n))
    return out


def scan(lib: Library, root: Path) -> None:
    run_to_end(scan_roots(lib, [root], threading.Event()))


def labelled_library(lib: Library, root: Path, counts: Sequence[int] = (5, 4, 2)) -> dict[str, list[Path]]:
    """Scanned, and every image labelled by the user with its character, a general tag per
    character and one rejected tag."""
    files = collection(root, counts)
    scan(lib, root)
    for name, paths in files.items():
        ids = [lib.image_for_path(p) for p in paths]
        assert None not in ids
        lib.set_label(ids, f"character:{name}", "accepted")  # type: ignore[arg-type]
        lib.set_label(ids, f"{name}_hair", "accepted")  # type: ignore[arg-type]
        lib.set_label(ids, "hat", "rejected")  # type: ignore[arg-type]
    return files


def all_labels(lib: Library) -> list[tuple]:
    with lib.read() as s:
        return sorted(tuple(r) for r in s.connection().exec_driver_sql(
            "SELECT i.hash, t.category, t.name, l.state, l.source FROM labels l "
            "JOIN images i ON i.id = l.image_id JOIN tags t ON t.id = l.tag_id"))
