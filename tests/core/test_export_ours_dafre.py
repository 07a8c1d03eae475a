"""`animesion export ours|dafre`: training sets read back by the training package's own readers,
with the same classes and splits; the min-per-class report; never outside DEST, never over."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest
from exchange_kit import labelled_library

from animesion_desktop.cli import main
from animesion_desktop.core.exchange import ExportError, ExportOptions, export
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from training.data.animesion_csv import read_dafre
from training.data.export_format import read_export


def run_export(lib: Library, fmt: str, dest: Path, **kw):
    return run_to_end(export(lib, ExportOptions(format=fmt, dest=dest, **kw), threading.Event()))


def test_ours_is_read_by_training_with_the_splits_and_a_min_per_class_report(lib, tmp_path):
    files = labelled_library(lib, tmp_path / "art", counts=(5, 4, 2))
    dest = tmp_path / "out"
    summary = run_export(lib, "ours", dest, labels="accepted", min_per_class=3)
    # izumi_konata has 2 images < 3: both reported, none silently dropped.
    assert summary.images == 9 and summary.classes == 2
    assert sorted(lo.what for lo in summary.left_out) == sorted(str(p) for p in files["izumi_konata"])
    assert all("izumi_konata has 2" in lo.reason for lo in summary.left_out)
    left = list(csv.DictReader((dest / "left_out.csv").open()))
    assert len(left) == 2 and "min-per-class" in left[0]["reason"]

    ds = read_export(dest)
    assert len(ds.samples) == 9
    assert sorted({s.character for s in ds.samples}) == ["hatsune_miku", "shana"]
    assert all(s.tags == (f"{s.character}_hair",) for s in ds.samples)  # rejected `hat` is absent
    # Every class of 3+ gets one val and one test image, the rest train.
    by_split = {k: sum(1 for x in ds.split_of or [] if x == k) for k in ("train", "val", "test")}
    assert by_split == {"train": 5, "val": 2, "test": 2} == dict(summary.splits)
    meta = json.loads((dest / "export.json").read_text())
    assert meta["format"] == "animesion-export" and meta["labels"] == "accepted"
    assert meta["counts"]["splits"] == by_split
    # Hard links by default: the export costs no space.
    first = dest / next(csv.DictReader((dest / "labels.csv").open()))["path"]
    assert first.stat().st_nlink >= 2


def test_split_is_seeded_and_stable(lib, tmp_path):
    labelled_library(lib, tmp_path / "art", counts=(6, 6, 6))
    a = run_export(lib, "ours", tmp_path / "a", seed=3)
    b = run_export(lib, "ours", tmp_path / "b", seed=3)
    c = run_export(lib, "ours", tmp_path / "c", seed=4)
    assert a.split_of == b.split_of
    assert a.split_of != c.split_of


def test_dafre_read_back_with_identical_class_ids_and_splits(lib, tmp_path):
    labelled_library(lib, tmp_path / "art", counts=(5, 4, 3))
    dest = tmp_path / "dafre"
    summary = run_export(lib, "dafre", dest, labels="accepted")
    names = [row[1] for row in csv.reader((dest / "labels" / "classid_classname.csv").open())]
    ds = read_dafre(dest)
    assert ds.classes == names == sorted(names)
    # The reader's split of every image is the split the export chose, and each image's class
    # id in the split file names its character.
    by_hash = {}
    with lib.read() as s:
        for i, h in s.connection().exec_driver_sql("SELECT id, hash FROM images"):
            by_hash[h[:16]] = i
    for sample, split in zip(ds.samples, ds.split_of or [], strict=True):
        image_id = by_hash[sample.path.stem]
        assert summary.split_of[image_id] == split
        assert ("character", sample.character) in lib.effective_tags(image_id)
        assert sample.tags == (f"{sample.character}_hair",)
    assert sorted(set(ds.split_of or [])) == ["test", "train", "val"]


def test_dafre_leaves_out_images_without_exactly_one_character(lib, tmp_path):
    files = labelled_library(lib, tmp_path / "art", counts=(3, 3))
    both = lib.image_for_path(files["shana"][0])
    lib.set_label([both], "character:hatsune_miku", "accepted")
    summary = run_export(lib, "dafre", tmp_path / "d", labels="accepted", min_per_class=1)
    assert [lo.reason for lo in summary.left_out] == ["several characters: hatsune_miku shana"]
    assert summary.images == 5


def test_dry_run_writes_nothing_and_lists_the_files(lib, tmp_path, capsys):
    labelled_library(lib, tmp_path / "art")
    dest = tmp_path / "out"
    assert main(["--library", str(lib.location.db_path), "export", "ours", str(dest), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would write" in out and "labels.csv" in out
    assert not dest.exists()


def test_never_overwrites_without_overwrite(lib, tmp_path, capsys):
    labelled_library(lib, tmp_path / "art")
    db = ["--library", str(lib.location.db_path)]
    dest = tmp_path / "out"
    assert main([*db, "export", "ours", str(dest)]) == 0
    (dest / "labels.csv").write_text("mine\n")
    assert main([*db, "export", "ours", str(dest)]) == 2
    err = capsys.readouterr().err
    assert "already exist" in err and "--overwrite" in err and "Traceback" not in err
    assert (dest / "labels.csv").read_text() == "mine\n"
    assert main([*db, "export", "ours", str(dest), "--overwrite"]) == 0
    assert (dest / "labels.csv").read_text().startswith("path,")


def test_never_writes_outside_dest_through_a_symlink(lib, tmp_path):
    labelled_library(lib, tmp_path / "art")
    dest, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    dest.mkdir()
    elsewhere.mkdir()
    (dest / "images").symlink_to(elsewhere)
    with pytest.raises(ExportError, match="outside"):
        run_export(lib, "ours", dest)
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in dest.iterdir()) == ["images"]


def test_query_limits_the_export(lib, tmp_path):
    labelled_library(lib, tmp_path / "art", counts=(3, 3, 3))
    summary = run_export(lib, "ours", tmp_path / "q", query="character:shana", min_per_class=1)
    assert summary.images == 3 and summary.classes == 1


def test_a_cancelled_ours_export_writes_no_labels_csv(lib, tmp_path):
    labelled_library(lib, tmp_path / "art", counts=(30, 30))
    cancel = threading.Event()
    dest = tmp_path / "out"
    job = export(lib, ExportOptions(format="ours", dest=dest), cancel)
    try:
        while True:
            progress = next(job)
            if progress.stage == "writing" and progress.done > 0:  # part way through
                cancel.set()
    except StopIteration as stop:
        summary = stop.value
    assert summary.cancelled and 0 < summary.files < 65
    # The tables come last: a cancelled export is never mistaken for a complete one.
    assert not (dest / "labels.csv").exists()


def test_an_image_keeps_its_split_when_the_collection_grows(lib, tmp_path):
    from exchange_kit import image, scan

    labelled_library(lib, tmp_path / "art", counts=(20, 20))
    before = run_export(lib, "ours", tmp_path / "a", seed=1).split_of
    new = [image(tmp_path / "art" / "shana" / f"new{i}.png", 5000 + i) for i in range(2)]
    scan(lib, tmp_path / "art")
    lib.set_label([lib.image_for_path(p) for p in new], "character:shana", "accepted")
    after = run_export(lib, "ours", tmp_path / "b", seed=1).split_of
    moved = [i for i in before if before[i] != after[i]]
    assert len(after) == len(before) + 2
    assert len(moved) <= 2  # at most the boundary shifts by the images added
