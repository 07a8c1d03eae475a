"""``animesion search`` and ``animesion tags``: output, --json, and malformed queries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from animesion_desktop.cli import main
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.schema import File, Image


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, Path, list[int]]:
    """Three images (the second with two copies, one of them missing) and an unreadable file."""
    db = tmp_path / "lib.sqlite"
    root = tmp_path / "pics"
    root.mkdir()
    with Library.open(db) as lib:
        root_id = lib.add_root(root)
        layout = [[("a.png", "ok")], [("sub/b.png", "ok"), ("old/b.png", "missing")],
                  [("c.png", "ok")]]

        def apply(s: Session) -> list[int]:
            ids = []
            for n, files in enumerate(layout):
                image = Image(hash=f"{n:064x}", width=100 * (n + 1), height=50, format="png",
                              added_at=time.time())
                s.add(image)
                s.flush()
                for relpath, status in files:
                    s.add(File(root_id=root_id, relpath_raw=os.fsencode(relpath),
                               relpath=relpath, size=10, mtime_ns=0, image_id=image.id,
                               status=status, seen_at=0.0))
                ids.append(image.id)
            s.add(File(root_id=root_id, relpath_raw=b"bad.png", relpath="bad.png", size=3,
                       mtime_ns=0, image_id=None, status="error", error="truncated",
                       seen_at=0.0))
            return ids

        ids = lib.write(apply)
        lib.set_label(ids[:2], "blue_hair", "accepted")
        lib.set_label([ids[1]], "glasses", "accepted")
        lib.set_label([ids[2]], "character:hatsune_miku", "accepted")
    return db, root, ids


def run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--library", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_search_prints_the_files_of_each_image(capsys, library) -> None:
    db, root, _ids = library
    code, out, err = run(capsys, db, "search", "blue_hair")
    assert code == 0 and err == ""
    # newest first; an image prints its readable files only
    assert out.splitlines() == [str(root / "sub" / "b.png"), str(root / "a.png")]
    code, out, _ = run(capsys, db, "search", "blue_hair -glasses")
    assert out.splitlines() == [str(root / "a.png")]
    code, out, _ = run(capsys, db, "search", "blue_hair", "glasses")  # words are joined
    assert out.splitlines() == [str(root / "sub" / "b.png")]
    code, out, _ = run(capsys, db, "search", "--", "-glasses")
    assert out.splitlines() == [str(root / "c.png"), str(root / "a.png")]
    code, out, _ = run(capsys, db, "search", "--order", "oldest")
    assert out.splitlines() == [str(root / n) for n in ("a.png", os.path.join("sub", "b.png"),
                                                        "c.png")]


def test_search_limit_all_and_count(capsys, library) -> None:
    db, root, _ids = library
    code, out, err = run(capsys, db, "search", "--limit", "1")
    assert out.splitlines() == [str(root / "c.png")]
    assert "showing 1 of 3 images" in err
    code, out, err = run(capsys, db, "search", "--limit", "1", "--all")
    assert len(out.splitlines()) == 3 and err == ""
    code, out, err = run(capsys, db, "search", "--count", "blue_hair | hatsune_miku")
    assert (code, out) == (0, "3\n")


def test_search_json(capsys, library) -> None:
    db, root, ids = library
    code, out, _ = run(capsys, db, "search", "--json", "blue_hair")
    items = json.loads(out)
    assert [item["image_id"] for item in items] == [ids[1], ids[0]]
    assert items[0] == {
        "image_id": ids[1], "hash": f"{1:064x}", "paths": [str(root / "sub" / "b.png")],
        "width": 200, "height": 50, "score": None,
        "tags": ["general:blue_hair", "general:glasses"],
    }
    code, out, _ = run(capsys, db, "search", "--json", "no_such_tag")
    assert json.loads(out) == []


def test_search_is_error_lists_unreadable_files(capsys, library) -> None:
    db, root, _ids = library
    code, out, _ = run(capsys, db, "search", "is:error")
    assert out.splitlines() == [str(root / "bad.png")]
    code, out, _ = run(capsys, db, "search", "--json", "is:error")
    [item] = json.loads(out)
    assert item == {"file_id": item["file_id"], "path": str(root / "bad.png"),
                    "error": "truncated"}
    with Library.open(db) as lib, lib.read() as s:
        assert s.get(File, item["file_id"]).status == "error"


def test_malformed_query_exits_2_with_the_position(capsys, library) -> None:
    db, _root, _ids = library
    code, out, err = run(capsys, db, "search", "blue_hair (red_hair")
    assert code == 2 and out == ""
    assert err == ("animesion: error: unclosed parenthesis at column 11\n"
                   "  blue_hair (red_hair\n"
                   "            ^\n")
    code, _out, err = run(capsys, db, "search", "width>=abc")
    assert code == 2 and "width needs a whole number" in err and "column 8" in err


def test_malformed_query_in_a_real_process_shows_no_traceback(library) -> None:
    db, _root, _ids = library
    done = subprocess.run(
        [sys.executable, "-m", "animesion_desktop", "--library", str(db), "search", "a | | b"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "'|' needs a term after it at column 3" in done.stderr


def test_tags_lists_counts_matching_anywhere(capsys, library) -> None:
    db, _root, _ids = library
    code, out, _ = run(capsys, db, "tags", "a")
    assert code == 0
    assert out.splitlines() == ["        2  general:blue_hair", "        1  general:glasses",
                                "        1  character:hatsune_miku"]
    code, out, _ = run(capsys, db, "tags", "MIKU", "--json")
    assert json.loads(out) == [{"category": "character", "name": "hatsune_miku", "count": 1}]
    code, out, _ = run(capsys, db, "tags", "--limit", "1")
    assert out.splitlines() == ["        2  general:blue_hair"]
