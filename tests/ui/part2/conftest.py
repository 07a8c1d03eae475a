"""Fixtures of the part-2 window tests: a library with real image files and known predictions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tagging_kit as kit

from animesion_desktop.core.library import Library

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


@pytest.fixture
def welcome_window(qtbot, tmp_path: Path):
    """The window on an empty library, once it shows the welcome page (``window.lib``)."""
    from animesion_desktop.ui.main_window import MainWindow
    from animesion_desktop.ui.modes import WELCOME

    library = Library.open(tmp_path / "empty.sqlite")
    try:
        window = MainWindow(library)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.modes.mode == WELCOME, timeout=15_000)
        yield window
    finally:
        library.close()
