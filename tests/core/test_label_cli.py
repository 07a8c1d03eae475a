"""`animesion label`: decisions from the command line, by path or by search."""

from __future__ import annotations

import threading
from pathlib import Path

from animesion_desktop.cli import main
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots


def scanned(tmp_path: Path, make_image) -> tuple[Path, Path]:
    root = tmp_path / "art"
    a = make_image(root / "a.png", seed=1)
    make_image(root / "b.png", seed=2, size=(2000, 10))  # the one wide image
    db = tmp_path / "lib.sqlite"
    with Library.open(db) as lib:
        lib.add_root(root)
        run_to_end(scan_roots(lib, [root], threading.Event()))
    return db, a


def test_label_paths_and_query(tmp_path: Path, make_image, capsys) -> None:
    db, a = scanned(tmp_path, make_image)
    assert main(["--library", str(db), "label", str(a), "-a", "glasses",
                 "-a", "character:shana", "-r", "hat"]) == 0
    assert main(["--library", str(db), "label", "--query", "width>=1000", "-a", "wide"]) == 0
    assert "labelled 1 image" in capsys.readouterr().out
    with Library.open(db) as lib:
        ia = lib.image_for_path(a)
        assert lib.effective_tags(ia) == [("character", "shana"), ("general", "glasses")]
        assert [(c, n, st, src) for c, n, st, src, _ in lib.labels(ia)] == [
            ("character", "shana", "accepted", "user"),
            ("general", "glasses", "accepted", "user"),
            ("general", "hat", "rejected", "user"),
        ]
    assert main(["--library", str(db), "label", str(a), "-c", "glasses"]) == 0
    with Library.open(db) as lib:
        assert lib.effective_tags(lib.image_for_path(a)) == [("character", "shana")]


def test_unknown_path_is_named_and_the_rest_is_labelled(tmp_path: Path, make_image,
                                                        capsys) -> None:
    db, a = scanned(tmp_path, make_image)
    code = main(["--library", str(db), "label", str(tmp_path / "nope.png"), str(a), "-a", "x"])
    err = capsys.readouterr().err
    assert code == 2 and "nope.png: not in the library" in err and "Traceback" not in err
    with Library.open(db) as lib:
        assert lib.effective_tags(lib.image_for_path(a)) == [("general", "x")]


def test_label_needs_a_tag_and_a_target(tmp_path: Path, make_image, capsys) -> None:
    db, a = scanned(tmp_path, make_image)
    assert main(["--library", str(db), "label", str(a)]) == 2
    assert main(["--library", str(db), "label", "-a", "x"]) == 2
    assert "nothing to do" in capsys.readouterr().err


def test_an_empty_tag_or_a_bare_category_is_one_line_naming_the_option(
    tmp_path: Path, make_image, capsys
) -> None:
    # defect j: `-a ""` ended in a traceback; `-a "character:"` created a general tag
    # literally named "character:".
    db, a = scanned(tmp_path, make_image)
    for option, tag in (("-a", ""), ("-a", "character:"), ("-r", "  "), ("-c", "rating:")):
        assert main(["--library", str(db), "label", str(a), option, tag]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        long = {"-a": "--accept", "-r": "--reject", "-c": "--clear"}[option]
        assert err.startswith(f"animesion: error: {long}: ")
    with Library.open(db) as lib:
        assert lib.labels(lib.image_for_path(a)) == []
        with lib.read() as s:
            names = [n for (n,) in s.connection().exec_driver_sql("SELECT name FROM tags")]
    assert not any(":" in n or not n.strip("_") for n in names)


def test_a_tag_error_from_the_core_api_is_a_user_error(tmp_path: Path, make_image) -> None:
    import pytest

    from animesion_desktop.core.errors import TagError, UserError

    db, a = scanned(tmp_path, make_image)
    with Library.open(db) as lib:
        image = lib.image_for_path(a)
        for tag in ("", "character:", "copyright: "):
            with pytest.raises(TagError) as info:
                lib.set_label([image], tag, "accepted")
            assert isinstance(info.value, UserError) and isinstance(info.value, ValueError)
        assert lib.labels(image) == []


def test_a_user_error_raised_deep_in_the_core_is_one_line(tmp_path: Path, make_image, capsys,
                                                          monkeypatch) -> None:
    from animesion_desktop.core.errors import UserError

    db, a = scanned(tmp_path, make_image)

    def refuse(*_args, **_kwargs):
        raise UserError("tags: the library says no")

    monkeypatch.setattr(Library, "set_label", refuse)
    assert main(["--library", str(db), "label", str(a), "-a", "fine"]) == 2
    assert capsys.readouterr().err == "animesion: error: tags: the library says no\n"
