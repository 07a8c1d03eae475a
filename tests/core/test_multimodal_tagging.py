"""Multimodal (ViLT) packs in `animesion tag` and `animesion show`: the image-only mode with
generated tags, then, once the user accepts tags, the conditioned mode, recorded and shown."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import vilt_kit as vk
from sqlalchemy import text

from animesion_desktop.cli import main
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.library import make_engine, upgrade


def cli(libpath: Path, *args: str) -> int:
    return main(["--library", str(libpath), *args])


def show(libpath: Path, path: Path, capsys) -> dict[str, Any]:
    capsys.readouterr()
    assert cli(libpath, "show", str(path), "--json") == 0
    (pack,) = json.loads(capsys.readouterr().out)["packs"]
    return pack


def scores(pack: dict[str, Any], category: str) -> dict[str, float]:
    return {p["name"]: p["score"] for p in pack["predictions"].get(category, [])}


def setup(tmp_path: Path, capsys, modes=None) -> tuple[Path, list[Path], Any]:
    libpath = tmp_path / "lib.sqlite"
    kwargs = {} if modes is None else {"modes": modes}
    pack_dir = vk.make_vilt_pack(tmp_path / "vilt-pack", **kwargs)
    assert cli(libpath, "packs", "install", str(pack_dir)) == 0
    pics = vk.noise_images(tmp_path / "pics", 3)
    assert cli(libpath, "scan", str(tmp_path / "pics")) == 0
    capsys.readouterr()
    return libpath, pics, vk.Reference(pack_dir)


def test_image_only_then_conditioned_on_accepted_tags(tmp_path, capsys) -> None:
    libpath, pics, ref = setup(tmp_path, capsys)
    assert cli(libpath, "tag") == 0
    assert "vilt: 3 tagged" in capsys.readouterr().out

    # 1. No user tags: recognition + tag generation from the image alone.
    first = show(libpath, pics[0], capsys)
    assert first["mode"] == "generate" and first["conditioned_on"] == []
    assert first["mode_text"] == "image only, tags generated"
    alone, generated = ref.image_only(pics[0])
    assert scores(first, "character") == pytest.approx(alone, abs=1e-5)
    stored_tags = scores(first, "general")
    # generated tags are stored with their probabilities: no special tokens, "hat" and "Hat"
    # are one library tag (its best score), and the pack's threshold applies when read
    assert set(stored_tags) == {t.lower() for t in generated} and "hat" in stored_tags
    assert stored_tags["hat"] == pytest.approx(max(generated["hat"], generated["Hat"]), abs=1e-5)
    assert stored_tags["smile"] == pytest.approx(generated["smile"], abs=1e-5)
    assert not any(name.startswith("[") for name in stored_tags)
    hat = next(p for p in first["predictions"]["general"] if p["name"] == "hat")
    smile = next(p for p in first["predictions"]["general"] if p["name"] == "smile")
    assert hat["threshold"] == vk.TAG_THRESHOLD and hat["passes"] is True
    assert smile["score"] < vk.TAG_THRESHOLD and smile["passes"] is False

    # 2. The user accepts tags (one the pack does not know is ignored) and tags again.
    assert cli(libpath, "label", str(pics[0]), "-a", "glasses", "-a", "smile",
               "-a", "not_in_vocabulary", "-r", "red_hair") == 0
    capsys.readouterr()
    assert cli(libpath, "tag") == 0
    out = capsys.readouterr().out
    assert "vilt: 1 tagged" in out
    assert "1 conditioned on their accepted tags; 1 run again because those tags changed" in out

    second = show(libpath, pics[0], capsys)
    assert second["mode"] == "conditioned"
    assert second["conditioned_on"] == ["smile", "glasses"]  # vocabulary order; rejected left out
    assert second["mode_text"] == "conditioned on 2 tags"
    conditioned = ref.conditioned(pics[0], ["smile", "glasses"])
    assert scores(second, "character") == pytest.approx(conditioned, abs=1e-5)
    assert max(abs(conditioned[c] - alone[c]) for c in alone) > 1e-4  # the tags did matter
    # the generated tags still come from the image-only pass; the user's decisions stay
    assert scores(second, "general") == pytest.approx(stored_tags, abs=1e-6)
    with Library.open(libpath) as lib:
        image_id = lib.image_for_path(str(pics[0]))
        assert image_id is not None
        labels = {(c, n, st, src) for c, n, st, src, _ in lib.labels(image_id)}
    assert labels == {("general", "glasses", "accepted", "user"),
                      ("general", "smile", "accepted", "user"),
                      ("general", "not_in_vocabulary", "accepted", "user"),
                      ("general", "red_hair", "rejected", "user")}
    assert show(libpath, pics[1], capsys)["mode"] == "generate"  # untouched images not rerun

    # 3. `animesion show` says which mode produced each result.
    assert cli(libpath, "show", str(pics[0])) == 0
    text_out = capsys.readouterr().out
    best = second["predictions"]["character"][0]
    assert best["name"] == max(conditioned, key=conditioned.__getitem__)
    assert f"character: {best['name']} {best['score']:.3f} (vilt, conditioned on 2 tags)" in text_out
    assert "mode: conditioned on 2 tags (smile, glasses)" in text_out
    assert cli(libpath, "show", str(pics[1])) == 0
    assert "(vilt, image only, tags generated)" in capsys.readouterr().out

    # 4. Nothing changed: nothing to do. A cleared tag makes the guess stale again.
    assert cli(libpath, "tag") == 0
    assert "vilt: 0 tagged" in capsys.readouterr().out
    assert cli(libpath, "label", str(pics[0]), "-c", "smile") == 0
    assert cli(libpath, "tag") == 0
    capsys.readouterr()
    third = show(libpath, pics[0], capsys)
    assert third["conditioned_on"] == ["glasses"] and third["mode_text"] == "conditioned on 1 tag"
    assert scores(third, "character") == pytest.approx(ref.conditioned(pics[0], ["glasses"]),
                                                       abs=1e-5)


def test_the_status_line_counts_the_conditioned_images(tmp_path, capsys) -> None:
    import threading

    from animesion_desktop.core.jobs import run_to_end
    from animesion_desktop.core.tagging import tag_images

    libpath, pics, _ = setup(tmp_path, capsys)
    with Library.open(libpath) as lib:
        ids = [lib.image_for_path(str(p)) for p in pics]
        lib.set_label([ids[0], ids[2]], "hat", "accepted")
        lib.set_label([ids[1]], "hat", "accepted", source="import:csv")  # not the user's
        summary = run_to_end(tag_images(lib, None, threading.Event()))
    assert summary.line() == "tagged 3 images with vilt (2 conditioned on their accepted tags)"


def test_a_pack_without_the_conditioned_mode_never_uses_it(tmp_path, capsys) -> None:
    libpath, pics, ref = setup(tmp_path, capsys, modes=["image_only", "generate"])
    assert cli(libpath, "tag") == 0
    assert cli(libpath, "label", str(pics[0]), "-a", "glasses", "-a", "smile") == 0
    capsys.readouterr()
    assert cli(libpath, "tag") == 0
    out = capsys.readouterr().out
    assert "vilt: 0 tagged" in out and "conditioned" not in out
    assert cli(libpath, "tag", "--force") == 0
    assert "conditioned" not in capsys.readouterr().out
    pack = show(libpath, pics[0], capsys)
    assert pack["mode"] == "generate" and pack["conditioned_on"] == []
    assert scores(pack, "character") == pytest.approx(ref.image_only(pics[0])[0], abs=1e-5)


def test_scan_and_tag_in_one_pass_stores_generated_tags(tmp_path, capsys) -> None:
    libpath = tmp_path / "lib.sqlite"
    assert cli(libpath, "packs", "install", str(vk.make_vilt_pack(tmp_path / "p"))) == 0
    pics = vk.noise_images(tmp_path / "pics", 2)
    assert cli(libpath, "scan", "--tag", str(tmp_path / "pics")) == 0
    pack = show(libpath, pics[1], capsys)
    assert pack["mode"] == "generate" and "hat" in scores(pack, "general")
    # a rescan that tags (Add folder, Rescan in the app) brings stale guesses up to date too
    assert cli(libpath, "label", str(pics[1]), "-a", "glasses") == 0
    capsys.readouterr()
    assert cli(libpath, "scan", "--tag", str(tmp_path / "pics")) == 0
    assert "1 conditioned on their accepted tags" in capsys.readouterr().out
    assert show(libpath, pics[1], capsys)["conditioned_on"] == ["glasses"]
    assert show(libpath, pics[0], capsys)["mode"] == "generate"


def test_a_pack_installed_before_generated_tags_were_stored_gets_them(tmp_path, capsys) -> None:
    libpath, pics, _ = setup(tmp_path, capsys)
    with sqlite3.connect(libpath) as conn:  # as an install of the earlier code left it
        conn.execute("DELETE FROM pack_tags WHERE tag_id IN "
                     "(SELECT id FROM tags WHERE category = 'general')")
    assert cli(libpath, "tag") == 0
    pack = show(libpath, pics[0], capsys)
    hat = next(p for p in pack["predictions"]["general"] if p["name"] == "hat")
    assert hat["threshold"] == vk.TAG_THRESHOLD


def test_migration_0006_keeps_runs_and_adds_the_mode(tmp_path) -> None:
    db = tmp_path / "old.sqlite"
    engine = make_engine(db)
    upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO images (id, hash, width, height, format, added_at) "
                          "VALUES (1, :h, 5, 5, 'PNG', 0)"), {"h": "d" * 64})
        conn.execute(text("INSERT INTO packs VALUES (1, 'p', '1', :s, '/x', 1, 0, '{}')"),
                     {"s": "0" * 64})
        conn.execute(text("INSERT INTO inference_runs VALUES (1, 1, 12.5, NULL)"))
    engine.dispose()
    with Library.open(db) as lib, lib.read() as s:
        row = s.execute(text("SELECT at, error, mode, conditioned_on FROM inference_runs")).one()
    assert tuple(row) == (12.5, None, None, None)
