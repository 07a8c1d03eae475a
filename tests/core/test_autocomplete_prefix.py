"""Autocomplete after a ``category:`` prefix (issue 8 g): the category restricts before the
limit, so rarely used characters are offered even when many general tags are used more."""

from __future__ import annotations

from pathlib import Path

import library_kit

from animesion_desktop.core.library import Library
from animesion_desktop.core.search.autocomplete import tag_completions


def crowded_library(tmp_path: Path) -> Library:
    """25 general tags on 5 images each (20 contain "mi"), two characters on one image."""
    lib = Library.open(tmp_path / "lib.sqlite")
    root = tmp_path / "art"
    root.mkdir()
    root_id = lib.add_root(root)
    general = [f"mi_general_{i:02d}" for i in range(20)] + [f"other_{i:02d}" for i in range(5)]
    specs = [{"tags": general} for _ in range(5)]
    specs.append({"tags": ["character:misaka_mikoto", "character:hatsune_miku", "copyright:mi"]})
    library_kit.add_images(lib, root_id, specs)
    return lib


def test_a_category_prefix_lists_that_category_first_not_the_top_15_filtered(
    tmp_path: Path,
) -> None:
    lib = crowded_library(tmp_path)
    try:
        assert tag_completions(lib, "character:") == [
            "character:hatsune_miku", "character:misaka_mikoto"]
        assert tag_completions(lib, "character:mi") == [
            "character:hatsune_miku", "character:misaka_mikoto"]
        assert tag_completions(lib, "-character:MIS") == ["character:misaka_mikoto"]
        assert tag_completions(lib, "copyright:mi") == ["copyright:mi"]  # exact name first
        # without a prefix, the general tags crowd the characters out of the first 15
        plain = tag_completions(lib, "mi")
        assert len(plain) == 15 and plain[0] == "copyright:mi"
        assert not any(t.startswith("character:") for t in plain)
    finally:
        lib.close()
