"""Bad input: every file here gives a recorded error or a correct result, never a crash, and the
rest of the scan completes. Each file is generated in tmp_path."""

from __future__ import annotations

import io
import os
import resource
import struct
import threading
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile
from sqlalchemy import text

from animesion_desktop.cli import main
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import ScanSummary, hashing, scan_roots, scanner, thumbnail_path
from animesion_desktop.core.scan.walk import SEP


def scan(lib: Library, root: Path, **kw) -> ScanSummary:
    return run_to_end(scan_roots(lib, [root], threading.Event(), **kw))


def files_by_name(lib: Library) -> dict[bytes, tuple]:
    """relpath_raw -> (status, error, width, height, format, hash)."""
    with lib.read() as s:
        rows = s.execute(text(
            "SELECT f.relpath_raw, f.status, f.error, i.width, i.height, i.format, i.hash "
            "FROM files f LEFT JOIN images i ON i.id = f.image_id"))
        return {bytes(r[0]): tuple(r[1:]) for r in rows}


# -- the corpus ---------------------------------------------------------------------------------
def png_bomb(path: Path, width: int, height: int) -> Path:
    """A 1-bit PNG of width x height zero pixels; it compresses to a few tens of KB."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    rows_at_once = 256
    body = b"".join(z.compress(row * min(rows_at_once, height - y))
                    for y in range(0, height, rows_at_once)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))
    return path


def truncated_jpeg(path: Path, make_image) -> Path:
    buf = io.BytesIO()
    Image.effect_noise((256, 256), 80).convert("RGB").save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def rotated_jpeg(path: Path) -> Path:
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    Image.new("RGB", (40, 20), (200, 30, 30)).save(path, "JPEG", exif=exif)
    return path


# Bad files and the words their error must contain.
def write_bad(root: Path, make_image) -> dict[bytes, str]:
    (root / "empty.jpg").write_bytes(b"")
    truncated_jpeg(root / "truncated.jpg", make_image)
    png_bomb(root / "bomb.png", 20000, 20000)
    (root / "text.png").write_text("this is not a picture\n")
    return {
        b"empty.jpg": "empty file",
        b"truncated.jpg": "truncated",
        b"bomb.png": "decompression bomb",
        b"text.png": "not a readable image",
    }


# Good (or harmless) files and what must be recorded for them (None: not indexed at all).
def write_good(root: Path, make_image) -> dict[bytes, tuple | None]:
    make_image(root / "good1.jpg", seed=1)
    make_image(root / "good2.png", seed=2, size=(300, 200))
    make_image(root / "lies.jpg", seed=3, format="PNG")  # PNG data named .jpg
    make_image(root / os.fsdecode(b"caf\xe9.png"), seed=4)  # not UTF-8
    make_image(root / "x.jpg" / "inside.gif", seed=5)  # a folder named like an image
    rotated_jpeg(root / "rotated.jpg")
    make_image(root / "deep16.png", seed=6, mode="I;16")
    make_image(root / "cmyk.jpg", seed=7, mode="CMYK")
    make_image(root / "palette.gif", seed=8, mode="P", transparency=0)
    os.symlink("..", root / "loop")  # a folder link to its parent: must not loop
    os.symlink("nowhere.jpg", root / "broken.jpg")  # a dangling link: skipped
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "pipe.jpg")  # opening a FIFO would block forever: skipped
    return {
        b"good1.jpg": (64, 48, "JPEG"),
        b"good2.png": (300, 200, "PNG"),
        b"lies.jpg": (64, 48, "PNG"),
        b"caf\xe9.png": (64, 48, "PNG"),
        b"x.jpg" + SEP + b"inside.gif": (64, 48, "GIF"),
        b"rotated.jpg": (40, 20, "JPEG"),
        b"deep16.png": (64, 48, "PNG"),
        b"cmyk.jpg": (64, 48, "JPEG"),
        b"palette.gif": (64, 48, "GIF"),
    }


# -- one test per bad input ----------------------------------------------------------------------
@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "art"
    root.mkdir()
    return root


def test_zero_byte_file(lib, root) -> None:
    (root / "empty.jpg").write_bytes(b"")
    summary = scan(lib, root)
    assert summary.errors == 1
    status, error, *_ = files_by_name(lib)[b"empty.jpg"]
    assert (status, error) == ("error", "empty file (0 bytes)")


def test_truncated_jpeg(lib, root, make_image) -> None:
    truncated_jpeg(root / "cut.jpg", make_image)
    scan(lib, root)
    status, error, width, *_ = files_by_name(lib)[b"cut.jpg"]
    assert status == "error" and "truncated" in error and width is None


def test_png_bomb_is_refused_without_decoding(lib, root, monkeypatch) -> None:
    png_bomb(root / "bomb.png", 20000, 20000)
    assert (root / "bomb.png").stat().st_size < 200_000
    loaded: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self):
        loaded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = scan(lib, root)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert summary.errors == 1
    status, error, *_ = files_by_name(lib)[b"bomb.png"]
    assert status == "error" and "refused" in error and "decompression bomb" in error
    assert loaded == []  # never decoded
    assert grown_mb < 100  # decoding it would take 400 MB


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_our_pixel_limit_applies_below_pillows(lib, root, make_image) -> None:
    png_bomb(root / "big.png", 12300, 12300)  # 151 MP: Pillow only warns, we refuse
    make_image(root / "small.png", size=(100, 100))
    scan(lib, root)
    found = files_by_name(lib)
    assert "12300x12300" in found[b"big.png"][1] and "150 MP limit" in found[b"big.png"][1]
    assert found[b"small.png"][0] == "ok"

    other = make_image(root.parent / "other" / "small2.png", size=(100, 100), seed=2).parent
    limited = scan(lib, other, max_pixels=5_000)  # the limit is per call, nothing global
    assert limited.errors == 1
    assert "100x100 (10,000 pixels) is over the 5,000 pixels limit" in files_by_name(lib)[b"small2.png"][1]
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's default, untouched


def test_extension_that_lies(lib, root, make_image) -> None:
    make_image(root / "png-really.jpg", format="PNG")
    (root / "text.png").write_text("hello")
    summary = scan(lib, root)
    assert (summary.new, summary.errors) == (1, 1)
    found = files_by_name(lib)
    assert found[b"png-really.jpg"][:1] + found[b"png-really.jpg"][4:5] == ("ok", "PNG")
    assert found[b"text.png"][:2] == ("error", "not a readable image (unknown or unsupported format)")


def test_unreadable_permissions(lib, root, make_image, monkeypatch) -> None:
    secret = make_image(root / "secret.jpg", seed=1)
    make_image(root / "open.jpg", seed=2)
    if os.geteuid() == 0:  # root reads anything: simulate what chmod 000 does to a user

        def deny(path, *args, **kw):
            if os.fsencode(path).endswith(b"secret.jpg"):
                raise PermissionError(13, "Permission denied", path)
            return open(path, *args, **kw)

        monkeypatch.setattr(hashing, "open", deny, raising=False)
    else:
        secret.chmod(0)
    try:
        summary = scan(lib, root)
    finally:
        secret.chmod(0o644)
    assert (summary.new, summary.errors) == (1, 1)
    assert files_by_name(lib)[b"secret.jpg"][:2] == ("error", "cannot read the file: permission denied")

    monkeypatch.undo()  # readable again: an error is retried on the next scan even if unchanged
    again = scan(lib, root)
    assert (again.changed, again.errors) == (1, 0)
    assert files_by_name(lib)[b"secret.jpg"][0] == "ok"


def test_non_utf8_file_and_folder_names(lib, root, make_image) -> None:
    name = b"caf\xe9.png"
    folder = b"\xff\xfe dir"
    make_image(Path(os.fsdecode(os.fsencode(root) + SEP + name)), seed=1)
    make_image(Path(os.fsdecode(os.fsencode(root) + SEP + folder + SEP + b"x.jpg")), seed=2)
    assert scan(lib, root).new == 2
    found = files_by_name(lib)
    assert found[name][0] == "ok" and found[folder + SEP + b"x.jpg"][0] == "ok"
    with lib.read() as s:
        shown = {r[0] for r in s.execute(text("SELECT relpath FROM files"))}
    assert "caf\ufffd.png" in shown  # printable, with a replacement character
    assert lib.image_for_path(Path(os.fsdecode(os.fsencode(root) + SEP + name))) is not None
    assert thumbnail_path(lib.location.thumbs_dir, found[name][5]).exists()
    assert scan(lib, root).unchanged == 2


def test_symlink_loop_is_not_followed(lib, root, make_image) -> None:
    make_image(root / "a.jpg")
    os.symlink("..", root / "up")
    os.symlink(".", root / "self")
    summary = scan(lib, root)
    assert (summary.new, summary.errors) == (1, 0)
    assert list(files_by_name(lib)) == [b"a.jpg"]


def test_file_deleted_between_listing_and_reading(lib, root, make_image, monkeypatch) -> None:
    make_image(root / "stays.jpg", seed=1)
    make_image(root / "known.jpg", seed=2)
    scan(lib, root)
    make_image(root / "goes.jpg", seed=3)
    make_image(root / "known.jpg", seed=4)  # changed, so it will be read again
    os.utime(root / "known.jpg", ns=(0, 10**18))
    real_walk = scanner.walk_images

    def list_then_delete(*args, **kw):
        listed = list(real_walk(*args, **kw))
        (root / "goes.jpg").unlink()
        (root / "known.jpg").unlink()
        return iter(listed)

    monkeypatch.setattr(scanner, "walk_images", list_then_delete)
    summary = scan(lib, root)
    assert (summary.new, summary.errors, summary.missing, summary.unchanged) == (0, 0, 1, 1)
    found = files_by_name(lib)
    assert b"goes.jpg" not in found
    assert found[b"known.jpg"][0] == "missing" and found[b"stays.jpg"][0] == "ok"


def test_folder_named_like_an_image(lib, root, make_image) -> None:
    make_image(root / "x.jpg" / "inside.png")
    summary = scan(lib, root)
    assert (summary.new, summary.errors) == (1, 0)
    assert list(files_by_name(lib)) == [b"x.jpg" + SEP + b"inside.png"]


def test_exif_orientation_rotates_the_thumbnail_not_the_record(lib, root) -> None:
    rotated_jpeg(root / "turned.jpg")
    scan(lib, root)
    status, _, width, height, fmt, image_hash = files_by_name(lib)[b"turned.jpg"]
    assert (status, width, height, fmt) == ("ok", 40, 20, "JPEG")  # as stored
    with Image.open(thumbnail_path(lib.location.thumbs_dir, image_hash)) as thumb:
        assert thumb.size == (20, 40)  # as displayed: taller than wide


# -- all of them at once ----------------------------------------------------------------------------
def test_a_folder_of_everything_bad_indexes_the_good_and_lists_the_bad(lib, root, make_image) -> None:
    bad = write_bad(root, make_image)
    good = write_good(root, make_image)
    summary = scan(lib, root)
    assert not summary.cancelled
    found = files_by_name(lib)
    assert set(found) == set(bad) | set(good)
    for name, expected in good.items():
        status, error, w, h, fmt, image_hash = found[name]
        assert (status, error, (w, h, fmt)) == ("ok", None, expected), name
        assert thumbnail_path(lib.location.thumbs_dir, image_hash).exists(), name
    for name, words in bad.items():
        status, error, *_ = found[name]
        assert status == "error" and words in error and "\n" not in error, name
    assert (summary.new, summary.errors) == (len(good), len(bad))
    assert {path.rsplit(os.sep, 1)[-1] for path, _ in summary.error_files} == {
        os.fsdecode(n) for n in bad
    }


def test_cli_scan_of_everything_bad_exits_0_and_reports_errors(tmp_path, root, make_image, capsys) -> None:
    bad = write_bad(root, make_image)
    good = write_good(root, make_image)
    code = main(["--library", str(tmp_path / "cli.sqlite"), "scan", str(root)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"{len(good)} new" in out and f"{len(bad)} errors" in out
    for name in bad:
        assert f"{os.fsdecode(name)}: " in out
