from pathlib import Path

import pytest
from PIL import Image

from training.data.animesion_csv import parse_tag_list
from training.data.export_format import read_export
from training.data.sources import fingerprint, open_dataset
from training.errors import DataError


def _image(path: Path, size=(40, 36), colour=(200, 10, 10), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour if mode == "RGB" else colour[: len(mode)]).save(path)
    return path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_folder_per_class_skips_metadata_and_strips_moeimouto_numbers(tmp_path):
    for name in ("000_hatsune_miku", "shana"):
        for i in range(3):
            _image(tmp_path / name / f"face_{i}.png")
    _write(tmp_path / "_meta" / "labels.csv", "x")
    _image(tmp_path / "_meta" / "not_a_class.png")
    _write(tmp_path / "shana" / "notes.txt", "not an image")
    ds = open_dataset("folder", tmp_path)
    assert sorted({s.character for s in ds.samples}) == ["hatsune_miku", "shana"]
    assert len(ds.samples) == 6 and ds.split_of is None
    assert open_dataset("moeimouto", tmp_path).kind == "moeimouto"  # Kaggle layout works too


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        open_dataset("folder", tmp_path / "nope")
    with pytest.raises(DataError, match="no images"):
        open_dataset("folder", tmp_path)


def _dafre(root: Path, image_dir="faces", with_tags=True) -> Path:
    _write(root / "labels" / "classid_classname.csv", "0,hatsune_miku\n1,saber\n2,kaname_madoka\n")
    rows = {"train": [(0, "0001/1.jpg"), (1, "0001/2.jpg"), (0, "0002/3.jpg")],
            "val": [(1, "0003/4.jpg")], "test": [(2, "0004/5.jpg")]}
    for split, items in rows.items():
        _write(root / "labels" / f"{split}.csv", "".join(f"{c},{d}\n" for c, d in items))
        for _, d in items:
            _image(root / image_dir / d)
    if with_tags:
        _write(root / "labels" / "train_tags.csv",
               'id,dir,class_id,tags_cat0\n1,0001/1.jpg,0,"[\'long_hair\', \'twintails\']"\n'
               '2,0001/2.jpg,1,"[\'blonde hair\']"\n')
    return root


def test_dafre_layout_with_optional_tags(tmp_path):
    root = _dafre(tmp_path)
    ds = open_dataset("dafre-faces", root)
    assert ds.classes == ["hatsune_miku", "saber", "kaname_madoka"]
    assert ds.split_of == ["train", "train", "train", "val", "test"]
    by_name = {s.path.name: s for s in ds.samples}
    assert by_name["1.jpg"].tags == ("long_hair", "twintails")
    assert by_name["2.jpg"].tags == ("blonde_hair",)
    assert by_name["3.jpg"].tags is None  # not in the tags file: unknown, not "no tags"
    assert by_name["4.jpg"].tags is None  # val has no tags file
    with pytest.raises(DataError, match="fullMin256"):
        open_dataset("dafre-full", root)


def test_dafre_malformed_row_names_file_and_line(tmp_path):
    root = _dafre(tmp_path)
    _write(root / "labels" / "train.csv", "0,0001/1.jpg\nzero,0001/2.jpg\n")
    with pytest.raises(DataError, match=r"train\.csv:2: class id 'zero'"):
        open_dataset("dafre-faces", root)
    _write(root / "labels" / "train.csv", "0,0001/1.jpg\n7,0001/2.jpg\n")
    with pytest.raises(DataError, match=r"train\.csv:2: class id 7 is not in"):
        open_dataset("dafre-faces", root)


def test_missing_images_are_skipped_with_a_note(tmp_path):
    root = _dafre(tmp_path, with_tags=False)
    (root / "faces" / "0001" / "2.jpg").unlink()
    ds = open_dataset("dafre-faces", root)
    assert len(ds.samples) == 4
    assert any("1 of 5 listed images are missing" in n for n in ds.notes)


def test_moeimouto_and_icartoonface_csv_layouts(tmp_path):
    for kind in ("moeimouto", "icartoonface"):
        root = tmp_path / kind
        _write(root / "classid_classname.csv", "0,000_hatsune_miku\n1,005_lelouch_lamperouge\n")
        _write(root / "train.csv", "0,000_hatsune_miku/a.png\n1,005_lelouch_lamperouge/b.png\n")
        _write(root / "test.csv", "1,005_lelouch_lamperouge/c.png\n")
        for rel in ("000_hatsune_miku/a.png", "005_lelouch_lamperouge/b.png",
                    "005_lelouch_lamperouge/c.png"):
            _image(root / "data" / rel)
        ds = open_dataset(kind, root)
        assert ds.split_of == ["train", "train", "test"]
        expected = "hatsune_miku" if kind == "moeimouto" else "000_hatsune_miku"
        assert ds.classes[0] == expected


def test_export_reader_is_tolerant(tmp_path):
    _image(tmp_path / "images" / "a.png", mode="RGBA")
    _image(tmp_path / "images" / "b.jpg")
    _image(tmp_path / "images" / "sub" / "c.png")
    _write(tmp_path / "export.json", '{"format": "animesion-export", "format_version": 1}')
    _write(
        tmp_path / "labels.csv",
        "Path,Character,Tags,Rating,extra\n"
        "images/a.png,saber,blonde_hair rating:s copyright:fate/stay_night,,x\n"
        "b.jpg,,character:rin character:saber long_hair,q,\n"  # relative to images/
        "images/sub/c.png,rin,,,\n"
        "images/a.png,saber,,,\n",  # duplicate
    )
    ds = read_export(tmp_path)
    a, b, c = ds.samples
    assert (a.character, a.tags, a.rating, a.copyright) == (
        "saber", ("blonde_hair",), "sensitive", "fate/stay_night")
    assert b.character is None and b.tags == ("long_hair",) and b.rating == "questionable"
    assert c.tags is None and c.character == "rin"
    assert any("duplicate" in n for n in ds.notes)
    assert any("several characters" in n for n in ds.notes)


def test_export_reader_errors_name_the_line(tmp_path):
    _image(tmp_path / "images" / "a.png")
    _write(tmp_path / "labels.csv", "path,character,split\nimages/a.png,x,train\n,y,train\n")
    with pytest.raises(DataError, match=r"labels\.csv:3: empty path"):
        read_export(tmp_path)
    _write(tmp_path / "labels.csv", "path,character,split\nimages/a.png,x,holdout\n")
    with pytest.raises(DataError, match=r"labels\.csv:2: unknown split 'holdout'"):
        read_export(tmp_path)
    _write(tmp_path / "labels.csv", "file_name,character\nimages/a.png,x\n")
    with pytest.raises(DataError, match="no 'path' column"):
        read_export(tmp_path)
    _write(tmp_path / "labels.csv", "path,character\nimages/zzz.png,x\n")
    with pytest.raises(DataError, match=r"labels\.csv:2: none of the 1 listed images exist"):
        read_export(tmp_path)


def test_tag_list_parsing():
    assert parse_tag_list("['a', 'b c']") == ("a", "b_c")
    assert parse_tag_list("a b") == ("a", "b")
    with pytest.raises(ValueError):
        parse_tag_list("[__import__('os')]")


def test_fingerprint_changes_with_labels(toy_export):
    ds = open_dataset("export", toy_export)
    first = fingerprint(ds)
    assert first == fingerprint(open_dataset("export", toy_export))
    ds.samples[0] = type(ds.samples[0])(path=ds.samples[0].path, character="someone_else")
    assert fingerprint(ds) != first


def test_synthetic_kind_generates_into_data(tmp_path):
    ds = open_dataset("synthetic", tmp_path / "syn",
                      synthetic={"n_characters": 2, "per_character": 3, "size": 32})
    assert len(ds.samples) == 6 and ds.kind == "synthetic"
    assert set(ds.heads_present()) == {"character", "copyright", "general", "rating"}
