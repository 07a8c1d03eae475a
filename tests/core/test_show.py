"""``animesion show``: everything the library holds about one image, for people and scripts."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import tagging_kit as h

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


def test_show_search_and_the_inspector_read_one_view_of_the_image(tmp_path, capsys) -> None:
    # one core view (core/image_view.py) behind `show --json`, `search --json` and the inspector
    from animesion_desktop.core import views
    from animesion_desktop.core.image_view import image_view, image_views
    from animesion_desktop.core.library import tags
    from animesion_desktop.core.tagging import details

    libpath, root, ids = tagged_library(tmp_path)
    path = root / "000_red.png"
    assert show(libpath, str(path), "--json") == 0
    record = json.loads(capsys.readouterr().out)
    assert main(["--library", str(libpath), "search", "character:zed", "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    with Library.open(libpath) as lib:
        view = image_view(lib, ids[0])
        inspector = views.image_detail(lib, ids[0])
        assert details.image_record(lib, ids[0]) == record
        assert image_views(lib, [ids[0], 10**6]) == [image_views(lib, [ids[0]])[0]]  # gone: left out
    assert view == inspector and view.record() == record and view.search_item() == item
    assert item["image_id"] == record["image"]["id"] == ids[0]
    assert item["paths"] == [f["path"] for f in record["files"]] == [p for p, _, _ in view.paths]
    # the same effective tags, each command in its own established spelling
    assert [tags.tag_text(*t.split(":", 1)) for t in item["tags"]] == sorted(
        record["effective_tags"], key=lambda t: tags.parse_tag(t))
    assert {t.text for t in inspector.tags if t.effective} == set(record["effective_tags"])
    assert {(t.text, t.label) for t in inspector.tags if t.label} == {
        (lb["tag"], lb["state"]) for lb in record["labels"]}
    assert views.tag_text is tags.tag_text  # defined once
