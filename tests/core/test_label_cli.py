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
