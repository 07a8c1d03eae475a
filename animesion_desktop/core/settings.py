"""The app's settings: typed, versioned, kept as JSON in the library's config directory.

The config directory follows the library (``paths.resolve_location``): the user config folder
for the default library, ``PATH.d/config`` beside a library named by ``--library`` or
``ANIMESION_LIBRARY``, so tests never touch the real home. A file from an older version is
upgraded step by step (``_UPGRADES``); a value of the wrong type or out of range falls back to
its default and is reported in one line; a file from a newer version is read as far as it
goes and never overwritten with less.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

VERSION = 2
FILENAME = "settings.json"
DEVICES = ("auto", "cpu", "cuda", "mps")
# What models.precision accepts: a value the tag jobs would refuse must not be a choice here.
PRECISIONS = ("auto", "fp32", "int8", "bf16", "fp16")
# The grid's sorts (core.search ORDERS but random, which has no meaning to keep).
GRID_ORDERS = ("newest", "oldest", "path", "size", "confidence", "least_confident")


@dataclass
class Settings:
    thumbnail_size: int = 160
    device: str = "auto"
    precision: str = "auto"  # auto: a faster path only where it agrees with fp32
    watching: bool = True
    rescan_on_start: bool = False
    window_geometry: str = ""  # QMainWindow.saveGeometry(), base64
    window_state: str = ""
    splitters: dict[str, str] = field(default_factory=dict)  # name -> saveState(), base64
    saved_searches: list[str] = field(default_factory=list)
    grid_order: str = "newest"
    version: int = VERSION

    def check(self) -> list[str]:
        """Put invalid values back to their defaults; returns one line per fix."""
        problems = []
        default = Settings()
        if not 64 <= self.thumbnail_size <= 512:
            problems.append(f"thumbnail_size: expected 64..512, got {self.thumbnail_size}")
            self.thumbnail_size = default.thumbnail_size
        for name, allowed in (("device", DEVICES), ("precision", PRECISIONS),
                              ("grid_order", GRID_ORDERS)):
            if getattr(self, name) not in allowed:
                problems.append(f"{name}: expected one of {', '.join(allowed)}, "
                                f"got {getattr(self, name)!r}")
                setattr(self, name, getattr(default, name))
        return problems


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # Version 1 named the grid's size "thumb" and kept one splitter state.
    if "thumb" in data:
        data["thumbnail_size"] = data.pop("thumb")
    if "splitter" in data:
        data["splitters"] = {"main": data.pop("splitter")}
    return data


_UPGRADES = {1: _v1_to_v2}


def path_in(config_dir: Path) -> Path:
    return Path(config_dir) / FILENAME


def load(config_dir: Path) -> tuple[Settings, list[str]]:
    """The settings and the problems met reading them (each one line, naming the file)."""
    path = path_in(config_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings(), []
    except (OSError, ValueError) as exc:
        return Settings(), [f"{path}: unreadable, using the defaults ({exc})"]
    if not isinstance(data, dict):
        return Settings(), [f"{path}: expected a JSON object, using the defaults"]
    version = data.get("version", 1)
    if not isinstance(version, int):
        version = 1
    while version in _UPGRADES:
        data = _UPGRADES[version](data)
        version += 1
    types = {f.name: f.type for f in fields(Settings)}
    settings = Settings()
    problems = []
    for name, value in data.items():
        if name not in types or name == "version":
            continue  # a newer version's key: ignored, and kept on disk (see save)
        expected = {"int": int, "str": str, "bool": bool, "dict[str, str]": dict,
                    "list[str]": list}[str(types[name])]
        if isinstance(value, bool) and expected is int or not isinstance(value, expected):
            problems.append(f"{path}: {name}: expected {expected.__name__}, got {value!r}")
            continue
        setattr(settings, name, value)
    settings.version = max(version, VERSION)
    problems += [f"{path}: {p}" for p in settings.check()]
    return settings, problems


def save(config_dir: Path, settings: Settings) -> Path:
    """Write atomically (a crash leaves the old file or the new one, never half of one),
    keeping the keys of a newer version that this one does not know."""
    path = path_in(config_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    data = {**(old if isinstance(old, dict) else {}), **asdict(settings)}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return path
