"""Fixtures of the part-2 window tests: a library with real image files and known predictions.

Loads tests/core/tagging_kit.py as the module ``tagging_kit`` (pytest's importlib mode puts no
test folder on sys.path), as tests/core/conftest.py does.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from animesion_desktop.core.library import Library

if "tagging_kit" not in sys.modules:
    _path = Path(__file__).resolve().parents[2] / "core" / "tagging_kit.py"
    _spec = importlib.util.spec_from_file_location("tagging_kit", _path)
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["tagging_kit"] = _module
    _spec.loader.exec_module(_module)

import tagging_kit as kit  # noqa: E402

# image index -> predictions; image 3 has no character guess
SCORES = [
    {"character:alice": 0.9, "character:bob": 0.05, "red": 0.8},
    {"character:bob": 0.4, "character:alice": 0.3, "character:carol": 0.2, "green": 0.6},
    {"character:carol": 0.6, "character:dave": 0.3, "blue": 0.45},
    {"red": 0.7},
    {"character:alice": 0.7, "character:erin": 0.2, "red": 0.55},
]


@pytest.fixture
def review_lib(tmp_path: Path) -> Iterator[tuple[Library, list[int]]]:
    library = Library.open(tmp_path / "lib.sqlite")
    try:
        ids = kit.colour_library(library, tmp_path / "pics",
                                 ["red", "green", "blue", "dark", "red"])
        pack = kit.register_fake_pack(library)
        kit.add_predictions(library, pack.id, {i: SCORES[n] for n, i in enumerate(ids)})
        yield library, ids
    finally:
        library.close()
