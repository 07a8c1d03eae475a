"""``animesion packs`` and ``animesion tag`` with real (tiny) packs: install in every accepted
format, list, info, activate/deactivate, remove, refusal of bad packs."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import tagging_kit as h
from sqlalchemy import text

from animesion_desktop.cli import main
from animesion_desktop.core.library import Library


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Sources built once: a torch pack, its zip, a WD folder, an Animesion checkpoint."""
    base = tmp_path_factory.mktemp("sources")
    pack = h.write_real_pack(base / "tiny")
    zipped = Path(shutil.make_archive(str(base / "tiny-zip"), "zip", base, "tiny"))
    return {
        "pack": pack,
        "zip": zipped,
        "wd": h.write_wd_folder(base / "wd-tiny"),
        "ckpt": h.write_animesion_checkpoint(base / "animesion"),
    }


@pytest.fixture
def libpath(tmp_path: Path) -> Path:
    path = tmp_path / "lib.sqlite"
    Library.open(path).close()
    return path


def cli(libpath: Path, *args: str) -> int:
    return main(["--library", str(libpath), *map(str, args)])


def query(libpath: Path, sql: str, **params):
    with Library.open(libpath) as lib, lib.read() as s:
        return [tuple(r) for r in s.execute(text(sql), params)]


def scan_colours(libpath: Path, root: Path, names) -> list[int]:
    with Library.open(libpath) as lib:
        return h.colour_library(lib, root, names)


def effective(libpath: Path, image_id: int) -> list[tuple[str, str]]:
    with Library.open(libpath) as lib:
        return lib.effective_tags(image_id)


def test_install_list_info_of_a_pack_folder(libpath, built, capsys) -> None:
    assert cli(libpath, "packs", "list") == 0
    assert "no packs installed" in capsys.readouterr().out
    assert cli(libpath, "packs", "install", built["pack"]) == 0
    out = capsys.readouterr().out
    assert "installed tiny 1.0.0" in out and "character 7" in out
    installed = libpath.parent / "lib.d" / "packs" / "tiny"
    assert (installed / "pack.json").is_file()

    assert cli(libpath, "packs", "list") == 0
    assert "tiny" in capsys.readouterr().out
    assert cli(libpath, "packs", "info", "tiny", "--json") == 0
    info = json.loads(capsys.readouterr().out)
    weights = (installed / "weights.safetensors").read_bytes()
    assert info["sha256"] == hashlib.sha256(weights).hexdigest()
    assert info["vocabulary_by_category"] == {"character": 7, "general": 4, "rating": 3}
    assert info["architecture"]["name"] == "shallow" and info["input"]["size"] == 32
    assert [hd["name"] for hd in info["heads"]] == ["character", "general", "rating"]
    assert info["metrics"] == {"top1": 0.5} and info["provenance"] == {"test": True}
    assert cli(libpath, "packs", "info", "tiny") == 0
    assert "vocabulary: 14 tags" in capsys.readouterr().out
    # thresholds recorded per label, from the pack's CSVs
    assert sorted(set(query(libpath, "SELECT t.category, pt.threshold FROM pack_tags pt "
                                     "JOIN tags t ON t.id = pt.tag_id"))) == [
        ("character", 0.3), ("general", 0.5), ("rating", 0.5)]


def test_install_zip_twice_then_name_and_replace(libpath, built, capsys, tmp_path) -> None:
    assert cli(libpath, "packs", "install", built["zip"]) == 0
    assert cli(libpath, "packs", "install", built["zip"]) == 2
    assert "already installed" in capsys.readouterr().err
    assert cli(libpath, "packs", "install", built["pack"], "--name", "tiny-2") == 0
    assert {r[0] for r in query(libpath, "SELECT name FROM packs")} == {"tiny", "tiny-2"}
    assert json.loads((libpath.parent / "lib.d/packs/tiny-2/pack.json").read_text())[
        "name"] == "tiny-2"

    ids = scan_colours(libpath, tmp_path / "pics", ["red", "blue"])
    assert cli(libpath, "tag", "--pack", "tiny") == 0
    assert cli(libpath, "packs", "deactivate", "tiny") == 0
    assert cli(libpath, "packs", "install", built["pack"], "--replace") == 0
    # the replaced pack's results went with it; its active state stayed
    assert query(libpath, "SELECT p.active, (SELECT COUNT(*) FROM inference_runs r "
                          "WHERE r.pack_id = p.id) FROM packs p WHERE name = 'tiny'") == [(0, 0)]
    assert len(ids) == 2


def test_tag_stores_what_the_model_says_and_effective_tags_follow(libpath, built, capsys,
                                                                  tmp_path) -> None:
    from PIL import Image

    from models.backends import open_predictor
    from models.pack import load_pack

    assert cli(libpath, "tag") == 2
    assert "packs install" in capsys.readouterr().err
    cli(libpath, "packs", "install", built["pack"])
    ids = scan_colours(libpath, tmp_path / "pics", ["red", "green", "blue", "dark"])
    capsys.readouterr()
    assert cli(libpath, "tag", "--device", "cpu", "--batch-size", "3") == 0
    out = capsys.readouterr().out
    assert out.startswith("tiny: running on cpu") and "4 tagged" in out

    # the stored scores are the model's own, for the kept labels
    pack = load_pack(libpath.parent / "lib.d/packs/tiny")
    with open_predictor(pack, device="cpu") as predictor:
        x = predictor.preprocess(Image.open(sorted((tmp_path / "pics").iterdir())[0]))
        expected = predictor.predict(x[None])
    stored = dict(query(libpath, "SELECT t.name, p.score FROM predictions p JOIN tags t "
                                 "ON t.id = p.tag_id WHERE p.image_id = :i AND "
                                 "t.category = 'general'", i=ids[0]))
    for j, label in enumerate(pack.heads[1].labels):
        assert stored[label.name] == pytest.approx(float(expected.heads["general"][0, j]),
                                                   abs=2e-2)
    # effective = predictions at or above each label's threshold
    for image_id in ids:
        passing = query(libpath, "SELECT t.category, t.name FROM predictions p JOIN tags t ON "
                                 "t.id = p.tag_id JOIN pack_tags pt ON pt.tag_id = p.tag_id AND "
                                 "pt.pack_id = p.pack_id WHERE p.image_id = :i AND "
                                 "p.score >= pt.threshold ORDER BY 1, 2", i=image_id)
        assert effective(libpath, image_id) == passing
    assert query(libpath, "SELECT COUNT(*), MIN(dim) FROM embeddings") == [(4, 512)]

    # deactivate: predictions stay, effective tags go; activate brings them back, no rerun
    before = effective(libpath, ids[0])
    assert cli(libpath, "packs", "deactivate", "tiny") == 0
    assert effective(libpath, ids[0]) == []
    assert query(libpath, "SELECT COUNT(*) > 0 FROM predictions") == [(1,)]
    assert cli(libpath, "packs", "activate", "tiny") == 0
    assert effective(libpath, ids[0]) == before
    capsys.readouterr()
    assert cli(libpath, "tag") == 0
    assert "nothing new to tag" in capsys.readouterr().out


def test_activate_only_and_remove(libpath, built, capsys, tmp_path) -> None:
    cli(libpath, "packs", "install", built["pack"])
    cli(libpath, "packs", "install", built["wd"])
    (red,) = scan_colours(libpath, tmp_path / "pics", ["red"])
    with Library.open(libpath) as lib:
        lib.set_label([red], "character:zed", "accepted")
    assert cli(libpath, "tag") == 0
    assert query(libpath, "SELECT COUNT(*) FROM inference_runs") == [(2,)]
    assert cli(libpath, "packs", "activate", "wd-tiny", "--only") == 0
    assert query(libpath, "SELECT name, active FROM packs ORDER BY name") == [
        ("tiny", 0), ("wd-tiny", 1)]
    labels_before = query(libpath, "SELECT * FROM labels")

    assert cli(libpath, "packs", "remove", "wd-tiny") == 0
    assert "removed wd-tiny" in capsys.readouterr().out
    assert not (libpath.parent / "lib.d/packs/wd-tiny").exists()
    for table in ("predictions", "inference_runs", "embeddings", "pack_tags"):
        assert query(libpath, f"SELECT COUNT(*) FROM {table} t JOIN packs p ON p.id = t.pack_id "
                              "WHERE p.name = 'wd-tiny'") == [(0,)]
    assert query(libpath, "SELECT COUNT(*) FROM predictions") == query(
        libpath, "SELECT COUNT(*) FROM predictions WHERE pack_id = "
                 "(SELECT id FROM packs WHERE name = 'tiny')")
    assert query(libpath, "SELECT * FROM labels") == labels_before
    assert effective(libpath, red) == [("character", "zed")]  # the only pack left is inactive
    assert cli(libpath, "packs", "remove", "wd-tiny") == 2
    assert "no pack named 'wd-tiny'" in capsys.readouterr().err


def test_wd_tagger_folder_is_imported_and_tags_by_category(libpath, built, capsys,
                                                           tmp_path) -> None:
    assert cli(libpath, "packs", "install", built["wd"]) == 0
    assert "wd-tiny 1.0.0 (onnx; tags 12" in capsys.readouterr().out
    red, green = scan_colours(libpath, tmp_path / "pics", ["red", "green"])
    assert cli(libpath, "tag") == 0
    tags = effective(libpath, red)
    assert ("general", "red") in tags and ("character", "alice") in tags
    assert ("rating", "general") in tags and ("general", "green") not in tags
    assert ("general", "green") in effective(libpath, green)
    # one head of mixed categories: the character top-k is kept even far below the floor
    chars = query(libpath, "SELECT COUNT(*) FROM predictions p JOIN tags t ON t.id = p.tag_id "
                           "WHERE p.image_id = :i AND t.category = 'character'", i=red)
    assert chars == [(5,)]
    assert query(libpath, "SELECT COUNT(*) FROM embeddings") == [(0,)]  # onnx gives none


def test_animesion_checkpoint_is_imported(libpath, built, capsys, tmp_path) -> None:
    assert cli(libpath, "packs", "install", built["ckpt"]) == 0
    assert "shallow_daf 1.0.0 (torch; character 7" in capsys.readouterr().out
    # with the class list given elsewhere
    alone = tmp_path / "alone" / "model.pth"
    alone.parent.mkdir()
    shutil.copyfile(built["ckpt"], alone)
    assert cli(libpath, "packs", "install", alone) == 2
    assert "classid_classname.csv" in capsys.readouterr().err
    assert cli(libpath, "packs", "install", alone, "--classes",
               built["ckpt"].with_name("classid_classname.csv"), "--name", "second") == 0
    assert {r[0] for r in query(libpath, "SELECT name FROM packs")} == {"shallow_daf", "second"}


def test_hf_classifier_folder_is_imported(libpath, capsys, tmp_path) -> None:
    folder = h.write_hf_folder(tmp_path / "hf-vit")
    assert cli(libpath, "packs", "install", folder) == 0
    assert "hf-vit 1.0.0 (hf; character 3" in capsys.readouterr().out
    (red,) = scan_colours(libpath, tmp_path / "pics", ["red"])
    assert cli(libpath, "tag") == 0
    assert query(libpath, "SELECT COUNT(*) FROM predictions WHERE image_id = :i", i=red) == [(3,)]


def _no_leftovers(libpath: Path) -> None:
    packs_dir = libpath.parent / "lib.d" / "packs"
    assert not list(packs_dir.iterdir()) if packs_dir.exists() else True
    assert query(libpath, "SELECT COUNT(*) FROM packs") == [(0,)]


def test_bad_packs_are_refused_with_the_models_message(libpath, built, capsys,
                                                       tmp_path) -> None:
    # a label file that does not match the model's outputs
    short = tmp_path / "short"
    shutil.copytree(built["pack"], short)
    lines = (short / "general.csv").read_text().splitlines()
    (short / "general.csv").write_text("\n".join(lines[:-1]) + "\n")
    assert cli(libpath, "packs", "install", short) == 2
    err = capsys.readouterr().err
    assert "general.csv: 3 labels" in err and "4 outputs" in err
    _no_leftovers(libpath)

    # truncated weights
    cut = tmp_path / "cut"
    shutil.copytree(built["pack"], cut)
    data = (cut / "weights.safetensors").read_bytes()
    (cut / "weights.safetensors").write_bytes(data[: len(data) // 2])
    assert cli(libpath, "packs", "install", cut) == 2
    assert "weights.safetensors" in capsys.readouterr().err
    _no_leftovers(libpath)

    # an ONNX pack whose model takes another input size than pack.json says
    wd_pack = tmp_path / "wd-pack"
    from models.importers import import_any

    import_any(built["wd"], wd_pack)
    (wd_pack / "model.onnx").write_bytes(h.tiny_onnx_tagger(("batch", 64, 64, 3)))
    assert cli(libpath, "packs", "install", wd_pack) == 2
    err = capsys.readouterr().err
    assert "model.onnx" in err and "input.size 32" in err
    _no_leftovers(libpath)

    # a WD folder whose model is not NHWC
    nchw = h.write_wd_folder(tmp_path / "wd-nchw", shape=("batch", 3, 32, 32))
    assert cli(libpath, "packs", "install", nchw) == 2
    assert "model.onnx" in capsys.readouterr().err
    # and something that is no model at all
    (tmp_path / "junk").mkdir()
    assert cli(libpath, "packs", "install", tmp_path / "junk") == 2
    assert "not a model this app can import" in capsys.readouterr().err
    assert cli(libpath, "packs", "install", tmp_path / "missing") == 2
    _no_leftovers(libpath)


def test_a_replace_whose_database_write_fails_keeps_the_old_pack(libpath, built, tmp_path,
                                                                  monkeypatch) -> None:
    # defect k: the new weights used to be moved over the old folder before the write, so a
    # failed write left the old row pointing at the new weights.
    from sqlalchemy.exc import OperationalError

    from animesion_desktop.core.tagging import packs_registry as registry
    from models.pack import load_pack

    assert cli(libpath, "packs", "install", built["pack"]) == 0
    ids = scan_colours(libpath, tmp_path / "pics", ["red", "blue"])
    assert cli(libpath, "tag", "--pack", "tiny") == 0
    with Library.open(libpath) as lib:
        lib.set_label([ids[0]], "character:alice", "accepted")
    packs = libpath.parent / "lib.d" / "packs"
    row = "SELECT id, version, sha256, path FROM packs"
    before, before_preds = query(libpath, row), query(libpath, "SELECT * FROM predictions")
    other = h.write_real_pack(tmp_path / "other", name="tiny", seed=1)
    assert registry.weights_sha256(other) != before[0][2]

    def failing_write(*_args, **_kwargs):
        raise OperationalError("INSERT INTO packs", {}, Exception("disk I/O error"))

    monkeypatch.setattr(registry, "record_pack", failing_write)
    with Library.open(libpath) as lib, pytest.raises(OperationalError):
        registry.install(lib, other, replace=True)
    assert query(libpath, row) == before
    old_path = Path(before[0][3])
    assert registry.weights_sha256(old_path) == before[0][2]
    assert load_pack(old_path).name == "tiny"
    assert query(libpath, "SELECT * FROM predictions") == before_preds
    assert sorted(p.name for p in packs.iterdir()) == ["tiny"]  # nothing staged is left
    assert cli(libpath, "tag", "--pack", "tiny") == 0  # the old pack still runs

    monkeypatch.undo()
    assert cli(libpath, "packs", "install", other, "--replace") == 0
    ((_, _, sha, path),) = query(libpath, row)
    assert sha == registry.weights_sha256(other) == registry.weights_sha256(Path(path))
    assert [p.name for p in packs.iterdir()] == [Path(path).name]  # the old folder went
    assert ("character", "alice") in effective(libpath, ids[0])  # the label outlived both
