"""``animesion show``: everything the library holds about one image, for people and scripts."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import tagging_kit as h  # registered by tests/core/conftest.py

from animesion_desktop.cli import main
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging.job import run_pack


def tagged_library(tmp_path: Path) -> tuple[Path, Path, list[int]]:
    libpath = tmp_path / "lib.sqlite"
    root = tmp_path / "pics"
    with Library.open(libpath) as lib:
        ids = h.colour_library(lib, root, ["red", "blue"])
        root.joinpath("broken.png").write_bytes(b"nope")
        ids += h.add_files(lib, root, [root / "broken.png"])
        lib.set_label([ids[0]], "red", "rejected")
        lib.set_label([ids[0]], "character:zed", "accepted", source="import:csv")
        pack = h.register_fake_pack(lib, "fake")
        run_to_end(run_pack(lib, pack, h.FakePredictor(), h.FAKE_HEADS, threading.Event()))
    return libpath, root, ids


def show(libpath: Path, *args: str) -> int:
    return main(["--library", str(libpath), "show", *args])


def test_show_json_has_everything(tmp_path, capsys) -> None:
    libpath, root, ids = tagged_library(tmp_path)
    assert show(libpath, str(root / "000_red.png"), "--json") == 0
    record = json.loads(capsys.readouterr().out)

    image = record["image"]
    assert image["id"] == ids[0] and len(image["hash"]) == 64 and image["format"] == "PNG"
    (f,) = record["files"]
    assert f["path"] == str((root / "000_red.png").resolve()) and f["status"] == "ok"
    assert f["size"] == (root / "000_red.png").stat().st_size and f["error"] is None
    assert {(lb["tag"], lb["state"], lb["source"]) for lb in record["labels"]} == {
        ("red", "rejected", "user"), ("character:zed", "accepted", "import:csv")}
    assert all(lb["at"] > 0 for lb in record["labels"])
    # the rejected tag is hidden although the model gives it 0.9; the accepted one is there
    assert record["effective_tags"] == ["character:alice", "character:zed", "rating:general"]

    (pack,) = record["packs"]
    assert pack["name"] == "fake" and pack["active"] and pack["error"] is None
    assert pack["embedding_dim"] == 4
    preds = pack["predictions"]
    assert set(preds) == {"character", "general", "rating"}
    red = next(p for p in preds["general"] if p["name"] == "red")
    assert red["score"] > 0.9 and red["threshold"] == 0.5 and red["passes"] is True
    assert len(preds["character"]) == 5 and preds["character"][0]["tag"] == "character:alice"
    assert [p["passes"] for p in preds["character"]] == [True, False, False, False, False]
    assert [p["score"] for p in preds["character"]] == sorted(
        (p["score"] for p in preds["character"]), reverse=True)
    assert {p["name"] for p in preds["rating"]} == {"general", "sensitive", "explicit"}


def test_show_text_and_errors(tmp_path, capsys) -> None:
    libpath, root, ids = tagged_library(tmp_path)
    assert show(libpath, str(root / "000_red.png")) == 0
    out = capsys.readouterr().out
    assert "rejected red  by user" in out and "pack fake 1 (active)" in out
    assert "pass  0.9" in out and "effective tags: character:alice, character:zed" in out

    assert show(libpath, str(root / "broken.png"), "--json") == 0
    (pack,) = json.loads(capsys.readouterr().out)["packs"]
    assert pack["error"] and pack["predictions"] == {}

    assert show(libpath, str(root / "not-there.png")) == 2
    assert "not in the library" in capsys.readouterr().err
