"""Thresholds per tag, per category and per pack: the core functions and
``animesion packs threshold NAME [TAG|category:C] VALUE``."""

from __future__ import annotations

from pathlib import Path

import pytest
import tagging_kit as kit

from animesion_desktop.cli import main
from animesion_desktop.core.library import Library
from animesion_desktop.core.thresholds import (
    pr_curve,
    restore_thresholds,
    set_thresholds,
    threshold_rows,
    yields,
)


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, list[int]]:
    path = tmp_path / "lib.sqlite"
    with Library.open(path) as lib:
        ids = kit.colour_library(lib, tmp_path / "pics", ["red", "green", "blue"])
        pack = kit.register_fake_pack(lib)  # every threshold 0.5
        kit.add_predictions(lib, pack.id, {
            ids[0]: {"red": 0.8, "green": 0.3, "character:alice": 0.9},
            ids[1]: {"red": 0.4, "green": 0.6, "character:bob": 0.45},
            ids[2]: {"red": 0.2, "blue": 0.55, "character:carol": 0.3},
        })
    return path, ids


def tags(path: Path, image_id: int) -> set[str]:
    with Library.open(path) as lib:
        return {n if c == "general" else f"{c}:{n}" for c, n in lib.effective_tags(image_id)}


def cli(path: Path, *args: str) -> int:
    return main(["--library", str(path), "packs", "threshold", *args])


def test_cli_one_tag(built, capsys) -> None:
    path, ids = built
    assert tags(path, ids[1]) == {"green"}
    assert cli(path, "fake", "red", "0.35") == 0
    assert "fake: red threshold 0.35 on 1 tag (was 0.5)" in capsys.readouterr().out
    assert tags(path, ids[1]) == {"green", "red"}
    assert tags(path, ids[2]) == {"blue"}  # red 0.2 stays below


def test_cli_category_and_whole_pack(built, capsys) -> None:
    path, ids = built
    assert cli(path, "fake", "category:character", "0.4") == 0
    assert "on 7 tags" in capsys.readouterr().out
    assert "character:bob" in tags(path, ids[1])
    assert "red" not in tags(path, ids[1])  # general thresholds did not move
    assert cli(path, "fake", "0.25") == 0
    assert tags(path, ids[2]) == {"blue", "character:carol"}
    assert tags(path, ids[0]) == {"red", "green", "character:alice"}


@pytest.mark.parametrize("args, message", [
    (("nope", "red", "0.3"), "no pack named 'nope'"),
    (("fake", "purple", "0.3"), "has no tag matching 'purple'"),
    (("fake", "category:colour", "0.3"), "unknown category 'colour'"),
    (("fake", "red", "1.5"), "between 0 and 1"),
    (("fake", "red", "high"), "VALUE must be a number"),
])
def test_cli_mistakes_are_one_line(built, capsys, args, message) -> None:
    path, _ids = built
    assert cli(path, *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_undo_restores_each_previous_value(built) -> None:
    path, ids = built
    with Library.open(path) as lib:
        lib.set_threshold("fake", "red", 0.7)
        change = set_thresholds(lib, "fake", "category:general", 0.1)
        assert change.previous[next(r.tag_id for r in threshold_rows(lib, "fake")
                                    if r.name == "red")] == 0.7
        restore_thresholds(lib, change)
        rows = {r.text: r.threshold for r in threshold_rows(lib, "fake", "general")}
        assert rows == {"red": 0.7, "green": 0.5, "blue": 0.5, "dark": 0.5}
    assert tags(path, ids[1]) == {"green"}


def test_yields_and_curve_from_decisions(built) -> None:
    path, ids = built
    with Library.open(path) as lib:
        assert yields(lib, "fake", "red", [0.1, 0.3, 0.5, 0.9]) == [3, 2, 1, 0]
        assert yields(lib, "fake", "category:general", [0.5]) == [3]
        red = next(r for r in threshold_rows(lib, "fake") if r.text == "red")
        assert red.images == 1
        assert pr_curve(lib, "fake", "red") == (0, [])
        lib.set_label([ids[0], ids[1]], "red", "accepted")
        lib.set_label([ids[2]], "red", "rejected")
        n, points = pr_curve(lib, "fake", "red", steps=10)
        assert n == 3
        at = {round(p.threshold, 1): p for p in points}
        assert (at[0.1].precision, at[0.1].recall) == (2 / 3, 1.0)
        assert (at[0.3].precision, at[0.3].recall) == (1.0, 1.0)
        assert (at[0.5].precision, at[0.5].recall) == (1.0, 0.5)
