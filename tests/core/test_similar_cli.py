"""``animesion similar``: neighbours of an image or of a search, from a real tagging run."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import tagging_kit as h

from animesion_desktop.cli import main
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging.job import run_pack

NAMES = ["red", "blue", "red", "green", "red", "dark", "blue"]


def tagged(tmp_path: Path) -> tuple[Path, Path]:
    libpath, root = tmp_path / "lib.sqlite", tmp_path / "pics"
    with Library.open(libpath) as lib:
        h.colour_library(lib, root, NAMES)
        pack = h.register_fake_pack(lib, "fake")
        run_to_end(run_pack(lib, pack, h.FakePredictor(), h.FAKE_HEADS, threading.Event()))
    return libpath, root


def similar(libpath: Path, *args: str) -> int:
    return main(["--library", str(libpath), "similar", *args])


def test_similar_lists_the_same_colour_first_with_scores(tmp_path, capsys) -> None:
    libpath, root = tagged(tmp_path)
    assert similar(libpath, str(root / "000_red.png"), "-k", "3", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(Path(r["paths"][0]).name for r in rows[:2]) == ["002_red.png", "004_red.png"]
    assert rows[0]["score"] > 0.99 and rows[2]["score"] < rows[0]["score"]
    assert len(rows) == 3


def test_similar_text_output_and_query(tmp_path, capsys) -> None:
    libpath, root = tagged(tmp_path)
    assert similar(libpath, "--query", "path:*blue*", "-k", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all("blue" not in line for line in lines)  # the query's own images are left out
    score, path = lines[0].split("  ", 1)
    assert 0.0 <= float(score) <= 1.0 and Path(path).exists()


def test_similar_user_errors(tmp_path, capsys) -> None:
    libpath, root = tagged(tmp_path)
    assert similar(libpath) == 2
    assert "give either an image PATH or --query" in capsys.readouterr().err
    assert similar(libpath, str(root / "nope.png")) == 2
    assert "not in the library" in capsys.readouterr().err
    assert similar(libpath, "--query", "path:*zzz*") == 2
    assert "no image matches" in capsys.readouterr().err
    assert similar(libpath, str(root / "000_red.png"), "--pack", "other") == 2
    assert "no pack named 'other'" in capsys.readouterr().err


def test_similar_without_any_embeddings(tmp_path, capsys) -> None:
    libpath, root = tmp_path / "lib.sqlite", tmp_path / "pics"
    with Library.open(libpath) as lib:
        h.colour_library(lib, root, ["red"])
    assert similar(libpath, str(root / "000_red.png")) == 2
    assert "run `animesion tag` first" in capsys.readouterr().err
