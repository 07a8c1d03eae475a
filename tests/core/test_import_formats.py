"""`animesion import FORMAT SRC`: every format from files the test writes, malformed ones
included (reported with file and line, skipped, the rest imported), matching by content hash,
and the rule that a user decision is never overridden."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from exchange_kit import all_labels, collection, image, scan

from animesion_desktop.cli import main
from animesion_desktop.core.exchange import ImportOptions
from animesion_desktop.core.exchange.import_job import import_labels
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library


def run_import(lib: Library, fmt: str, src: Path, **kw):
    return run_to_end(import_labels(lib, ImportOptions(fmt, src, **kw), threading.Event()))


def labels_of(lib: Library, path: Path) -> set[tuple[str, str, str, str]]:
    image_id = lib.image_for_path(path)
    assert image_id is not None
    return {(c, n, state, src) for c, n, state, src, _ in lib.labels(image_id)}


def test_folders_by_content_hash_wherever_the_files_are(lib, tmp_path):
    # The library indexed the files in one place; the import reads a copy sorted into
    # character folders elsewhere: matched by content, not by path.
    src = tmp_path / "sorted"
    collection(src, counts=(2, 1))
    (src / "003_kinomoto_sakura").mkdir()
    image(src / "003_kinomoto_sakura" / "x.png", 99)
    (src / "_meta").mkdir()
    image(src / "_meta" / "ignored.png", 98)
    library_root = tmp_path / "library"
    for i, p in enumerate(sorted(src.rglob("*.png"))):
        (library_root / f"{i}.png").parent.mkdir(parents=True, exist_ok=True)
        (library_root / f"{i}.png").write_bytes(p.read_bytes())
    image(src / "shana" / "not_in_library.png", 77)
    scan(lib, library_root)
    result = run_import(lib, "folders", src)
    assert result.images == 4 and result.added == 4
    assert result.not_in_library == [str(src / "shana" / "not_in_library.png")]
    with lib.read() as s:
        tags = dict(s.connection().exec_driver_sql(
            "SELECT i.hash, t.name FROM labels l JOIN images i ON i.id = l.image_id "
            "JOIN tags t ON t.id = l.tag_id WHERE t.category = 'character'").fetchall())
    assert sorted(tags.values()) == ["hatsune_miku", "hatsune_miku", "kinomoto_sakura", "shana"]
    assert {src for *_, src in all_labels(lib)} == {"import:folders"}
    # The `_meta` image is in the library but has no character folder: not labelled.
    assert len(tags) == 4 and lib.image_count() == 5


def test_scan_adds_images_not_yet_in_the_library(lib, tmp_path):
    src = tmp_path / "chars"
    files = collection(src, counts=(2, 2))
    assert lib.image_count() == 0
    result = run_import(lib, "folders", src, scan=True)
    assert result.images == 4 and result.not_in_library == []
    assert ("character", "shana", "accepted", "import:folders") in labels_of(lib, files["shana"][0])


def test_never_overrides_a_user_decision(lib, tmp_path):
    src = tmp_path / "chars"
    files = collection(src, counts=(2,))
    scan(lib, src)
    a, b = (lib.image_for_path(p) for p in files["hatsune_miku"])
    lib.set_label([a], "character:hatsune_miku", "rejected", source="user")
    before = labels_of(lib, files["hatsune_miku"][0])
    dry = run_import(lib, "folders", src, dry_run=True)
    assert (dry.added, dry.kept_user) == (1, 1)
    assert labels_of(lib, files["hatsune_miku"][1]) == set()  # the dry run wrote nothing
    result = run_import(lib, "folders", src)
    assert (result.added, result.kept_user) == (1, 1)
    assert labels_of(lib, files["hatsune_miku"][0]) == before
    assert ("character", "hatsune_miku", "rejected", "user") in before
    assert ("character", "hatsune_miku", "accepted", "import:folders") in labels_of(
        lib, files["hatsune_miku"][1])
    # An import's own label may be changed by a later import (it is not the user's).
    csv_file = tmp_path / "t.csv"
    csv_file.write_text(f"path,accepted,rejected\n{files['hatsune_miku'][1]},,character:hatsune_miku\n"
                        f"{files['hatsune_miku'][0]},character:hatsune_miku,\n")
    again = run_import(lib, "csv", csv_file)
    assert (again.changed, again.kept_user) == (1, 1)
    assert labels_of(lib, files["hatsune_miku"][0]) == before
    assert b is not None


def test_captions_and_a_caption_in_a_wrong_encoding(lib, tmp_path):
    src = tmp_path / "cap"
    a = image(src / "a.png", 1)
    b = image(src / "b.png", 2)
    c = image(src / "c.png", 3)
    scan(lib, src)
    lib.set_label([lib.image_for_path(c)], "character:shana", "accepted")  # a known character
    (src / "a.txt").write_text("1girl, blue hair, hatsune_miku \\(cosplay\\)\n", encoding="utf-8")
    (src / "b.txt").write_bytes("caf\xe9, smile".encode("latin-1"))
    (src / "c.txt").write_text("shana, red_hair", encoding="utf-8")
    (src / "orphan.txt").write_text("smile")
    result = run_import(lib, "captions", src)
    problems = {Path(p.where).name: p.message for p in result.problems}
    assert "not UTF-8" in problems["b.txt"] and "line 1" in problems["b.txt"]
    assert "missing image" in problems["orphan.txt"]
    assert {(x[0], x[1]) for x in labels_of(lib, a)} == {
        ("general", "1girl"), ("general", "blue_hair"), ("general", "hatsune_miku_(cosplay)")}
    assert labels_of(lib, b) == set()
    assert ("general", "red_hair", "accepted", "import:captions") in labels_of(lib, c)
    assert ("character", "shana", "accepted", "user") in labels_of(lib, c)  # not duplicated


def test_booru_json_with_bad_json_an_unknown_rating_and_a_missing_file(lib, tmp_path):
    src = tmp_path / "gdl"
    a, b, c = (image(src / f"{n}.jpg", i) for i, n in enumerate("abc"))
    scan(lib, src)
    (src / "a.jpg.json").write_text(json.dumps({
        "tag_string_character": "hatsune_miku", "tag_string_copyright": "vocaloid",
        "tag_string_general": "1girl twintails", "tag_string_artist": "someone",
        "rating": "s"}))
    (src / "b.json").write_text('{"tag_string_general": "smile",\n "rating": "x"}')
    (src / "c.jpg.json").write_text('{"tag_string_general": "smile",\n  oops}')
    (src / "gone.jpg.json").write_text('{"tag_string_general": "smile"}')
    result = run_import(lib, "booru-json", src)
    by_file = {Path(p.where.split(":")[0]).name: p for p in result.problems}
    assert by_file["c.jpg.json"].where.endswith(":2") and "not valid JSON" in by_file["c.jpg.json"].message
    assert "unknown value 'x'" in by_file["b.json"].message
    assert "missing file" in by_file["gone.jpg.json"].message
    assert {(x[0], x[1]) for x in labels_of(lib, a)} == {
        ("character", "hatsune_miku"), ("copyright", "vocaloid"), ("general", "1girl"),
        ("general", "twintails"), ("artist", "someone"), ("rating", "sensitive")}
    assert {(x[0], x[1]) for x in labels_of(lib, b)} == {("general", "smile")}  # rating skipped
    assert labels_of(lib, c) == set()


def test_xmp_from_digikam_and_lightroom_and_a_broken_one(lib, tmp_path):
    src = tmp_path / "x"
    a, b, c = (image(src / f"{n}.png", i) for i, n in enumerate("abc"))
    scan(lib, src)
    (src / "a.png.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:digiKam="http://www.digikam.org/ns/1.0/">'
        "<dc:subject><rdf:Bag><rdf:li>shana</rdf:li><rdf:li>red hair</rdf:li></rdf:Bag></dc:subject>"
        "<digiKam:TagsList><rdf:Seq><rdf:li>Characters/shana</rdf:li></rdf:Seq></digiKam:TagsList>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>")
    (src / "b.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:lr="http://ns.adobe.com/lightroom/1.0/"><lr:hierarchicalSubject><rdf:Bag>'
        "<rdf:li>Characters|izumi konata</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>")
    (src / "c.png.xmp").write_text("<x:xmpmeta>\n<rdf:RDF>\n</x:xmpmeta>")
    (src / "d.png.xmp").write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    result = run_import(lib, "xmp", src)
    by_file = {Path(p.where).name: p.message for p in result.problems}
    assert "line 2" in by_file["c.png.xmp"] or "line 1" in by_file["c.png.xmp"]
    assert "DOCTYPE" in by_file["d.png.xmp"]
    assert {(x[0], x[1]) for x in labels_of(lib, a)} == {("character", "shana"), ("general", "red_hair")}
    assert {(x[0], x[1]) for x in labels_of(lib, b)} == {("character", "izumi_konata")}
    assert labels_of(lib, c) == set()


def test_csv_with_bad_rows_and_an_unknown_rating(lib, tmp_path):
    src = tmp_path / "t"
    a, b = image(src / "images" / "a.png", 1), image(src / "images" / "b.png", 2)
    scan(lib, src)
    (src / "labels.csv").write_text(
        "path,character,tags,rating\n"
        "a.png,shana,red_hair long_hair,q\n"
        "missing.png,shana,,\n"
        "b.png,,smile,weird\n")
    result = run_import(lib, "csv", src)
    lines = {p.where.rsplit(":", 1)[1]: p.message for p in result.problems}
    assert "does not exist" in lines["3"] and "unknown value 'weird'" in lines["4"]
    assert {(x[0], x[1]) for x in labels_of(lib, a)} == {
        ("character", "shana"), ("general", "red_hair"), ("general", "long_hair"),
        ("rating", "questionable")}
    assert {(x[0], x[1]) for x in labels_of(lib, b)} == {("general", "smile")}


def test_dafre_layout_with_a_bad_line(lib, tmp_path):
    src = tmp_path / "dafre"
    a = image(src / "faces" / "0" / "a.jpg", 1)
    b = image(src / "faces" / "1" / "b.jpg", 2)
    scan(lib, src)
    (src / "labels").mkdir()
    (src / "labels" / "classid_classname.csv").write_text("0,hatsune_miku\n1,shana\n")
    (src / "labels" / "train.csv").write_text("0,0/a.jpg\nnot-a-number,0/a.jpg\n")
    (src / "labels" / "test.csv").write_text("1,1/b.jpg\n1,1/gone.jpg\n")
    (src / "labels" / "train_tags.csv").write_text(
        "id,dir,class_id,tags_cat0\n0,0/a.jpg,0,\"['twintails', 'aqua hair']\"\n")
    result = run_import(lib, "dafre", src)
    where = {p.where.split("/")[-1]: p.message for p in result.problems}
    assert "train.csv:2" in where and "test.csv:2" in where
    assert {(x[0], x[1]) for x in labels_of(lib, a)} == {
        ("character", "hatsune_miku"), ("general", "twintails"), ("general", "aqua_hair")}
    assert {(x[0], x[1]) for x in labels_of(lib, b)} == {("character", "shana")}


def test_the_command_reports_problems_in_one_line_each_and_exits_2(lib, tmp_path, capsys):
    src = tmp_path / "gdl"
    image(src / "a.jpg", 1)
    scan(lib, src)
    (src / "a.jpg.json").write_text("[1, 2")
    db = ["--library", str(lib.location.db_path)]
    assert main([*db, "import", "booru-json", str(src)]) == 2
    captured = capsys.readouterr()
    assert "a.jpg.json:1: column" in captured.err and "Traceback" not in captured.err
    assert "import booru-json: 0 entries" in captured.out
    assert main([*db, "import", "folders", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
