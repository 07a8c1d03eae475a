"""`animesion export kohya|xmp|csv|json`: captions, sidecars and tables, and the xmp export read
back by the xmp import (and by exiftool where it is installed)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from exchange_kit import all_labels, labelled_library

from animesion_desktop.core.exchange import ExportError, ExportOptions, ImportOptions, export
from animesion_desktop.core.exchange.import_job import import_labels
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library


def run_export(lib: Library, fmt: str, dest: Path, **kw):
    return run_to_end(export(lib, ExportOptions(format=fmt, dest=dest, **kw), threading.Event()))


def test_kohya_captions_character_first_with_options(lib, tmp_path):
    files = labelled_library(lib, tmp_path / "art", counts=(2, 1))
    miku = lib.image_for_path(files["hatsune_miku"][0])
    lib.set_label([miku], "copyright:vocaloid", "accepted")
    lib.set_label([miku], "long_hair", "accepted")
    lib.set_label([miku], "rating:general", "accepted")
    dest = tmp_path / "k"
    summary = run_export(lib, "kohya", dest, spaces=True, exclude=("long_hair",))
    assert summary.images == 3
    with lib.read() as s:
        h = s.connection().exec_driver_sql("SELECT hash FROM images WHERE id = ?", (miku,)).scalar()
    caption = (dest / f"{h[:16]}.txt").read_text()
    # Character, then copyright, then general; spaces; rating never; excluded tag gone.
    assert caption == "hatsune miku, vocaloid, hatsune miku hair\n"
    assert (dest / f"{h[:16]}.png").is_file()


def test_kohya_beside_writes_next_to_the_images_only_when_asked(lib, tmp_path):
    files = labelled_library(lib, tmp_path / "art", counts=(1,))
    image = files["hatsune_miku"][0]
    run_export(lib, "kohya", tmp_path / "dest", beside=True)
    assert image.with_suffix(".txt").read_text() == "hatsune_miku, hatsune_miku_hair\n"


def test_xmp_export_is_read_back_by_the_xmp_import(lib, tmp_path):
    labelled_library(lib, tmp_path / "art", counts=(2, 2))
    lib.set_label([1], "copyright:vocaloid", "accepted")
    dest = tmp_path / "xmp"
    summary = run_export(lib, "xmp", dest, labels="accepted")
    assert summary.images == 4
    sidecars = sorted(dest.rglob("*.xmp"))
    assert len(sidecars) == 4 and all(p.name.endswith(".png.xmp") for p in sidecars)
    text = sidecars[0].read_text()
    assert "<dc:subject>" in text and "Characters/" in text and "Characters|" in text

    # A second library of the same files, without labels, imports the sidecars (which are not
    # beside the images: they are matched by the hash they carry).
    with Library.open(tmp_path / "other.sqlite") as other:
        other.add_root(tmp_path / "art")
        from exchange_kit import scan

        scan(other, tmp_path / "art")
        result = run_to_end(import_labels(other, ImportOptions("xmp", dest), threading.Event()))
        assert result.problems == [] and result.images == 4
        mine = {(h, c, n) for h, c, n, state, _ in all_labels(lib) if state == "accepted"}
        theirs = {(h, c, n) for h, c, n, state, src in all_labels(other)}
        assert theirs == mine
        assert {src for *_, src in all_labels(other)} == {"import:xmp"}


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_xmp_export_is_readable_by_exiftool(lib, tmp_path):
    labelled_library(lib, tmp_path / "art", counts=(1,))
    run_export(lib, "xmp", tmp_path / "xmp")
    sidecar = next((tmp_path / "xmp").rglob("*.xmp"))
    out = json.loads(subprocess.run(["exiftool", "-json", "-Subject", "-TagsList", str(sidecar)],
                                    capture_output=True, text=True, check=True).stdout)[0]
    assert "hatsune_miku" in out["Subject"]
    assert "Characters/hatsune_miku" in out["TagsList"]


def test_xmp_beside_and_its_refusal_to_overwrite(lib, tmp_path):
    files = labelled_library(lib, tmp_path / "art", counts=(1,))
    image = files["hatsune_miku"][0]
    sidecar = image.with_name(image.name + ".xmp")
    sidecar.write_text("digiKam's own")
    with pytest.raises(ExportError, match="already exist"):
        run_export(lib, "xmp", tmp_path / "d", beside=True)
    assert sidecar.read_text() == "digiKam's own"
    run_export(lib, "xmp", tmp_path / "d", beside=True, overwrite=True)
    assert "hatsune_miku" in sidecar.read_text()


def test_csv_and_json_one_row_per_image_with_states(lib, tmp_path):
    labelled_library(lib, tmp_path / "art", counts=(2, 1))
    run_export(lib, "csv", tmp_path / "t.csv")
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert len(rows) == 3
    row = next(r for r in rows if r["character"] == "shana")
    assert row["general"] == "shana_hair" and row["rejected"] == "general:hat"
    assert "character:shana" in row["accepted"].split() and len(row["hash"]) == 64

    run_export(lib, "json", tmp_path / "j")
    doc = json.loads((tmp_path / "j" / "images.json").read_text())
    shana = next(o for o in doc["images"] if o["character"] == ["shana"])
    hat = next(t for t in shana["tags"] if t["name"] == "hat")
    assert hat == {"category": "general", "name": "hat", "score": None, "state": "rejected",
                   "source": "user", "effective": False}
    assert Path(shana["path"]).is_file()


def test_missing_files_are_reported_not_exported(lib, tmp_path):
    files = labelled_library(lib, tmp_path / "art", counts=(3,))
    files["hatsune_miku"][0].unlink()
    from exchange_kit import scan

    scan(lib, tmp_path / "art")
    summary = run_export(lib, "kohya", tmp_path / "k")
    assert summary.images == 2
    assert [lo.reason for lo in summary.left_out] == ["no file present (missing from disk)"]


def test_kohya_threshold_adds_predictions_but_never_rejected_tags(lib, tmp_path):
    from tagging_kit import register_fake_pack

    from animesion_desktop.core.library.schema import Prediction
    from animesion_desktop.core.library.tags import get_or_create_tag

    files = labelled_library(lib, tmp_path / "art", counts=(1,))
    image_id = lib.image_for_path(files["hatsune_miku"][0])
    pack = register_fake_pack(lib)

    def predict(s):
        for name, score in (("smile", 0.8), ("frown", 0.3), ("hat", 0.9)):
            s.add(Prediction(image_id=image_id, pack_id=pack.id,
                             tag_id=get_or_create_tag(s, "general", name), score=score))

    lib.write(predict)
    dest = tmp_path / "k"
    run_export(lib, "kohya", dest, labels="accepted", threshold=0.5)
    caption = next(dest.glob("*.txt")).read_text()
    # hat scores 0.9 but the user rejected it; frown is under the threshold.
    assert caption == "hatsune_miku, hatsune_miku_hair, smile\n"


def test_kohya_beside_reports_two_images_that_would_share_a_caption(lib, tmp_path):
    from exchange_kit import image, scan

    root = tmp_path / "art"
    a, b = image(root / "x.png", 1), image(root / "y.png", 2)
    (root / "y.png").rename(root / "x.bmp")  # x.png and x.bmp: both want x.txt
    scan(lib, root)
    with lib.read() as s:
        ids = [i for (i,) in s.connection().exec_driver_sql("SELECT id FROM images")]
    lib.set_label(ids, "smile", "accepted")
    summary = run_export(lib, "kohya", tmp_path / "d", beside=True)
    assert summary.images == 1
    assert [lo.reason.split(":")[0] for lo in summary.left_out] == ["caption file shared with another image"]
    assert (root / "x.txt").read_text() == "smile\n"
    assert a.exists() and not b.exists()
