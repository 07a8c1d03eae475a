"""The scan job: indexing, rescans, changes, moves, copies, missing files, cancel and resume."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import pytest
from library_kit import rows
from PIL import Image

from animesion_desktop.cli import main
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import (
    ScanSummary,
    ensure_thumbnail,
    purge_missing,
    scan_roots,
    scanner,
    thumbnail_path,
)


def scan(lib: Library, *roots: Path, **kw) -> ScanSummary:
    return run_to_end(scan_roots(lib, roots or None, threading.Event(), **kw))


def file_row(lib: Library, relpath: str) -> tuple:
    (row,) = rows(lib, "SELECT id, image_id, status, error FROM files WHERE relpath = :p",
                  p=relpath.replace("/", os.sep))
    return row


def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


@pytest.fixture
def root(tmp_path: Path, make_image) -> Path:
    root = tmp_path / "art"
    make_image(root / "a.jpg", seed=1)
    make_image(root / "sub" / "b.png", seed=2, size=(600, 300))
    make_image(root / "sub" / "deeper" / "c.webp", seed=3)
    (root / "notes.txt").write_text("not an image")
    return root


def test_scan_indexes_images_with_dimensions_and_thumbnails(lib, root) -> None:
    summary = scan(lib, root)
    assert (summary.new, summary.errors, summary.missing, summary.hashed) == (3, 0, 0, 3)
    images = rows(lib, "SELECT f.relpath, i.width, i.height, i.format, i.hash FROM files f "
                       "JOIN images i ON i.id = f.image_id ORDER BY f.relpath")
    assert [r[:4] for r in images] == [
        ("a.jpg", 64, 48, "JPEG"),
        (os.path.join("sub", "b.png"), 600, 300, "PNG"),
        (os.path.join("sub", "deeper", "c.webp"), 64, 48, "WEBP"),
    ]
    for *_, image_hash in images:
        thumb = thumbnail_path(lib.location.thumbs_dir, image_hash)
        assert thumb.parent.name == image_hash[:2]
        with Image.open(thumb) as im:
            assert max(im.size) <= 256 and im.format == "JPEG"
    with Image.open(thumbnail_path(lib.location.thumbs_dir, images[1][4])) as im:
        assert im.size == (256, 128)
    assert "scanned 3 files" in summary.line() and "3 new" in summary.line()


def test_rescan_skips_unchanged_files(lib, root) -> None:
    scan(lib, root)
    again = scan(lib)  # no roots given: every root in the library
    assert (again.unchanged, again.new, again.changed, again.hashed, again.thumbnails) == (3, 0, 0, 0, 0)
    assert rows(lib, "SELECT COUNT(*) FROM files") == [(3,)]


def test_changed_file_gets_the_new_image_and_the_old_keeps_its_labels(lib, root, make_image) -> None:
    scan(lib, root)
    old_image = file_row(lib, "a.jpg")[1]
    lib.set_label([old_image], "blue_hair", "accepted")
    make_image(root / "a.jpg", seed=99)
    bump_mtime(root / "a.jpg")
    again = scan(lib, root)
    assert (again.changed, again.hashed, again.unchanged) == (1, 1, 2)
    new_image = file_row(lib, "a.jpg")[1]
    assert new_image != old_image
    assert again.image_ids == [new_image]
    assert [label[:3] for label in lib.labels(old_image)] == [("general", "blue_hair", "accepted")]
    assert lib.labels(new_image) == []


def test_touched_but_identical_file_is_not_a_change(lib, root) -> None:
    scan(lib, root)
    bump_mtime(root / "a.jpg")
    again = scan(lib, root)
    assert (again.changed, again.unchanged, again.hashed) == (0, 3, 1)
    assert scan(lib, root).hashed == 0  # the new mtime was recorded


def test_moved_file_keeps_its_row_and_labels_and_a_copy_shares_them(lib, root) -> None:
    scan(lib, root)
    file_id, image_id, *_ = file_row(lib, "a.jpg")
    lib.set_label([image_id], "character:hatsune_miku", "accepted")
    (root / "elsewhere").mkdir()
    os.rename(root / "a.jpg", root / "elsewhere" / "renamed.jpg")
    shutil.copy(root / "elsewhere" / "renamed.jpg", root / "copy.jpg")
    again = scan(lib, root)
    assert (again.moved, again.new, again.missing) == (1, 1, 0)
    assert file_row(lib, "elsewhere/renamed.jpg")[:3] == (file_id, image_id, "ok")
    assert file_row(lib, "copy.jpg")[1] == image_id
    assert lib.image_for_path(root / "copy.jpg") == image_id
    assert ("character", "hatsune_miku") in lib.effective_tags(image_id)
    assert rows(lib, "SELECT COUNT(*) FROM files") == [(4,)]


def test_move_between_roots_is_a_move(lib, tmp_path, root) -> None:
    other = tmp_path / "other"
    other.mkdir()
    scan(lib, root, other)
    file_id, image_id, *_ = file_row(lib, "a.jpg")
    shutil.move(root / "a.jpg", other / "a2.jpg")
    again = scan(lib)
    assert (again.moved, again.missing) == (1, 0)
    assert file_row(lib, "a2.jpg")[:2] == (file_id, image_id)


def test_deleted_files_go_missing_keep_labels_and_purge_forgets_them(lib, root) -> None:
    scan(lib, root)
    _, image_id, *_ = file_row(lib, "a.jpg")
    image_hash = rows(lib, "SELECT hash FROM images WHERE id = :i", i=image_id)[0][0]
    lib.set_label([image_id], "smile", "accepted")
    (root / "a.jpg").unlink()
    again = scan(lib, root)
    assert (again.missing, again.unchanged) == (1, 2)
    assert file_row(lib, "a.jpg")[2] == "missing"
    assert lib.labels(image_id)
    assert scan(lib, root).missing == 0  # already missing: not counted twice

    purged = purge_missing(lib)
    assert (purged.files, purged.images) == (1, 1)
    assert rows(lib, "SELECT COUNT(*) FROM images WHERE id = :i", i=image_id) == [(0,)]
    assert lib.labels(image_id) == []
    assert not thumbnail_path(lib.location.thumbs_dir, image_hash).exists()
    assert rows(lib, "SELECT COUNT(*) FROM files") == [(2,)]


def test_purge_keeps_an_image_that_another_file_still_shows(lib, root) -> None:
    shutil.copy(root / "a.jpg", root / "a-copy.jpg")
    scan(lib, root)
    image_id = file_row(lib, "a.jpg")[1]
    (root / "a.jpg").unlink()
    scan(lib, root)
    assert purge_missing(lib).images == 0
    assert file_row(lib, "a-copy.jpg")[1] == image_id


def test_a_missing_file_found_again_is_restored_without_rehashing(lib, root, tmp_path) -> None:
    scan(lib, root)
    shutil.move(root / "a.jpg", tmp_path / "away.jpg")
    assert scan(lib, root).missing == 1
    shutil.move(tmp_path / "away.jpg", root / "a.jpg")
    back = scan(lib, root)
    assert (back.restored, back.hashed, back.unchanged) == (1, 0, 3)
    assert file_row(lib, "a.jpg")[2] == "ok"


def test_cancel_mid_scan_keeps_what_was_done_and_a_rescan_finishes(lib, tmp_path, make_image, monkeypatch) -> None:
    root = tmp_path / "many"
    for i in range(40):
        make_image(root / f"{i:02d}.png", seed=i, size=(16, 16))
    cancel = threading.Event()
    real = scanner.process_file
    calls = []

    def process_then_cancel(*args, **kw):
        calls.append(1)
        if len(calls) == 8:
            cancel.set()
        return real(*args, **kw)

    monkeypatch.setattr(scanner, "process_file", process_then_cancel)
    first = run_to_end(scan_roots(lib, [root], cancel, workers=2, batch_files=3))
    monkeypatch.setattr(scanner, "process_file", real)
    assert first.cancelled and "interrupted" in first.line()
    done = rows(lib, "SELECT COUNT(*) FROM files")[0][0]
    assert 0 < done < 40 and done == first.new

    second = scan(lib, root)
    assert not second.cancelled
    assert (second.new, second.unchanged, second.hashed) == (40 - done, done, 40 - done)
    assert rows(lib, "SELECT COUNT(*), COUNT(DISTINCT relpath_raw), COUNT(DISTINCT image_id) "
                     "FROM files WHERE status = 'ok'") == [(40, 40, 40)]
    assert rows(lib, "SELECT COUNT(*) FROM images") == [(40,)]


def test_closing_the_job_early_commits_what_was_read(lib, tmp_path, make_image) -> None:
    root = tmp_path / "few"
    for i in range(6):
        make_image(root / f"{i}.png", seed=i, size=(16, 16))
    job = scan_roots(lib, [root], threading.Event())
    while next(job).stage != "indexing":
        pass
    job.close()
    recorded = rows(lib, "SELECT COUNT(*) FROM files")[0][0]
    assert recorded >= 1
    assert scan(lib, root).new == 6 - recorded


def test_batches_are_few_and_in_listing_order(lib, tmp_path, make_image, monkeypatch) -> None:
    root = tmp_path / "batch"
    for i in range(25):
        make_image(root / f"{i:02d}.png", seed=i, size=(8, 8))
    submits = []
    real_submit = lib.submit
    monkeypatch.setattr(lib, "submit", lambda fn: submits.append(fn) or real_submit(fn))
    scan(lib, root, batch_files=10, batch_seconds=3600)
    assert len(submits) == 3
    ids = rows(lib, "SELECT relpath FROM files ORDER BY id")
    assert [r[0] for r in ids] == [f"{i:02d}.png" for i in range(25)]


def test_unreadable_folder_does_not_make_its_files_missing(lib, root, monkeypatch) -> None:
    scan(lib, root)
    real_scandir = os.scandir

    def scandir(path):
        if os.fsencode(path).endswith(b"deeper"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("animesion_desktop.core.scan.walk.os.scandir", scandir)
    again = scan(lib, root)
    assert again.missing == 0 and len(again.folder_errors) == 1
    assert "permission denied" in again.folder_errors[0]
    assert file_row(lib, "sub/deeper/c.webp")[2] == "ok"


def test_a_root_that_is_gone_leaves_its_files_alone(lib, root, tmp_path) -> None:
    scan(lib, root)
    root.rename(tmp_path / "unmounted")
    again = scan(lib)
    assert again.missing == 0 and "not found" in again.folder_errors[0]


def test_the_library_inside_a_root_is_not_indexed(tmp_path, make_image) -> None:
    root = tmp_path / "art"
    make_image(root / "a.jpg", seed=1)
    with Library.open(root / "lib.sqlite") as lib:  # thumbnails land in art/lib.d/thumbnails
        assert scan(lib, root).new == 1
        assert (scan(lib, root).new, rows(lib, "SELECT COUNT(*) FROM files")) == (0, [(1,)])


def test_transparency_is_laid_on_white_and_thumbnails_can_be_rebuilt(lib, tmp_path) -> None:
    root = tmp_path / "alpha"
    root.mkdir()
    Image.new("RGBA", (40, 40), (255, 0, 0, 0)).save(root / "clear.png")
    scan(lib, root)
    _, image_id, *_ = file_row(lib, "clear.png")
    (image_hash,) = rows(lib, "SELECT hash FROM images WHERE id = :i", i=image_id)[0]
    thumb = thumbnail_path(lib.location.thumbs_dir, image_hash)
    with Image.open(thumb) as im:
        assert all(c > 245 for c in im.getpixel((20, 20)))
    thumb.unlink()
    assert ensure_thumbnail(lib, image_id) == thumb and thumb.exists()
    assert ensure_thumbnail(lib, 123456) is None


def test_cli_scan_prints_a_summary(tmp_path, root, capsys) -> None:
    library = str(tmp_path / "cli.sqlite")
    assert main(["--library", library, "scan", str(root)]) == 0
    assert "3 new" in capsys.readouterr().out
    assert main(["--library", library, "scan"]) == 0  # every known root
    assert "3 unchanged" in capsys.readouterr().out


def test_cli_scan_errors_are_one_line(tmp_path, capsys) -> None:
    library = str(tmp_path / "cli.sqlite")
    assert main(["--library", library, "scan", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["--library", library, "scan"]) == 2
    assert "no folders to scan" in capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_scan_workers_run_nicer_than_the_caller(lib, root, monkeypatch) -> None:
    """A scan in the app's background gives way to the GUI thread."""
    from animesion_desktop.core.priority import BACKGROUND_NICENESS
    from animesion_desktop.core.scan import scanner

    seen: list[int] = []
    real = scanner.process_file

    def recording(*args, **kw):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real(*args, **kw)

    monkeypatch.setattr(scanner, "process_file", recording)
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    summary = scan(lib, root)
    assert summary.new and len(seen) == summary.hashed
    assert set(seen) == {min(19, caller + BACKGROUND_NICENESS)}
