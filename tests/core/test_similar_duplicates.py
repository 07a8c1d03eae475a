"""Near-duplicates: hashes from the scan's thumbnails, groups, the search terms, keep one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animesion_desktop.cli import main
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library, LibraryError
from animesion_desktop.core.search import search
from animesion_desktop.core.similar import duplicates, groups, phash


def picture(seed: int, size: int = 400) -> Image.Image:
    """Blocks of colour at random places: structure a perceptual hash can see."""
    rng = np.random.default_rng(seed)
    a = np.zeros((size, size, 3), dtype=np.uint8) + rng.integers(0, 255, 3, dtype=np.uint8)
    for _ in range(12):
        x, y = rng.integers(0, size - 60, 2)
        w, h = rng.integers(30, 200, 2)
        a[y : y + h, x : x + w] = rng.integers(0, 255, 3)
    return Image.fromarray(a)


def make_folder(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True)
    base = picture(1)
    out = {
        "original": root / "a_original.png",
        "smaller": root / "a_smaller.png",
        "jpeg": root / "a_recompressed.jpg",
        "cropped": root / "a_cropped.png",
        "other": root / "b_other.png",
        "third": root / "c_third.png",
    }
    base.save(out["original"])
    base.resize((150, 150)).save(out["smaller"])
    base.save(out["jpeg"], quality=35)
    base.crop((8, 8, 392, 392)).save(out["cropped"])  # a 2 % margin cut away
    picture(2).save(out["other"])
    picture(3).save(out["third"])
    return out


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    paths = make_folder(tmp_path / "pics")
    libpath = tmp_path / "lib.sqlite"
    assert main(["--library", str(libpath), "scan", str(tmp_path / "pics")]) == 0
    return libpath, paths


def test_hash_is_stable_under_resize_and_recompression() -> None:
    base = picture(1)
    h = phash.phash(base)
    assert phash.distance(h, phash.phash(base.resize((120, 120)))) <= 4
    assert phash.distance(h, phash.phash(picture(9))) > 12
    assert -(2**63) <= h < 2**63


def test_band_search_finds_every_pair_within_seven_bits() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(-(2**63), 2**63 - 1, 300, dtype=np.int64)
    near = base.copy()
    for i in range(len(near)):  # flip exactly 7 random bits: the hardest case the search covers
        for bit in rng.choice(64, 7, replace=False):
            near[i] ^= np.int64(np.uint64(1 << int(bit)).astype(np.int64))
    labels = groups.group_labels(np.concatenate([base, near]))
    assert all(labels[i] == labels[300 + i] != -1 for i in range(300))
    with pytest.raises(ValueError):
        groups.group_labels(base, 8)


def test_scan_hashes_and_groups_the_same_picture(scanned) -> None:
    libpath, paths = scanned
    with Library.open(libpath) as lib:
        ids = {k: lib.image_for_path(p) for k, p in paths.items()}
        found = duplicates.groups(lib)
        assert [sorted(g) for g in found] == [sorted(
            ids[k] for k in ("original", "smaller", "jpeg", "cropped"))]
        dup = set(search(lib, "is:duplicate", limit=None).ids)
        assert dup == set(found[0])
        assert set(search(lib, f"duplicate:{ids['jpeg']}", limit=None).ids) == dup
        assert set(search(lib, "-is:duplicate", limit=None).ids) == {ids["other"], ids["third"]}
        assert search(lib, f"duplicate:{ids['other']}", limit=None).ids == []


def test_duplicates_command_lists_groups(scanned, capsys) -> None:
    libpath, paths = scanned
    capsys.readouterr()
    assert main(["--library", str(libpath), "duplicates", "--json"]) == 0
    [group] = json.loads(capsys.readouterr().out)
    assert sorted(Path(g["paths"][0]).name for g in group) == sorted(
        p.name for k, p in paths.items() if k not in ("other", "third"))


def test_keep_one_needs_confirmation_then_trashes_never_unlinks(scanned, capsys, monkeypatch,
                                                                tmp_path: Path) -> None:
    libpath, paths = scanned
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    keep = ["--library", str(libpath), "duplicates", "--keep", str(paths["original"])]
    assert main(keep) == 2
    assert "not confirmed" in capsys.readouterr().err
    assert all(p.exists() for p in paths.values())  # nothing moved without a yes

    with Library.open(libpath) as lib:
        lib.set_label([lib.image_for_path(paths["jpeg"])], "character:zoe", "accepted")
    assert main([*keep, "--yes"]) == 0
    assert "moved 3 file(s) to the trash" in capsys.readouterr().out
    trashed = sorted(p.name for p in (tmp_path / "xdg" / "Trash" / "files").iterdir())
    assert trashed == sorted(paths[k].name for k in ("smaller", "jpeg", "cropped"))
    assert paths["original"].exists() and paths["other"].exists()
    with Library.open(libpath) as lib:
        jpeg_id = lib.image_for_path(paths["jpeg"])
        assert lib.labels(jpeg_id)[0][:4] == ("character", "zoe", "accepted", "user")
        assert set(search(lib, "is:missing", limit=None).ids) == {
            lib.image_for_path(paths[k]) for k in ("smaller", "jpeg", "cropped")}


def test_keep_one_refuses_unconfirmed_and_lone_images(scanned) -> None:
    libpath, paths = scanned
    with Library.open(libpath) as lib:
        with pytest.raises(LibraryError, match="not confirmed"):
            duplicates.keep_one(lib, lib.image_for_path(paths["original"]), confirmed=False)
        with pytest.raises(LibraryError, match="no near-duplicates"):
            duplicates.files_to_trash(lib, lib.image_for_path(paths["other"]))


def test_a_deleted_member_leaves_no_lone_duplicate(tmp_path: Path) -> None:
    root = tmp_path / "pics"
    root.mkdir()
    picture(5).save(root / "x.png")
    picture(5).resize((200, 200)).save(root / "y.png")
    libpath = tmp_path / "lib.sqlite"
    assert main(["--library", str(libpath), "scan", str(root)]) == 0
    with Library.open(libpath) as lib:
        assert len(search(lib, "is:duplicate", limit=None).ids) == 2
        (root / "y.png").unlink()
    assert main(["--library", str(libpath), "scan"]) == 0
    from animesion_desktop.core.scan import purge_missing
    with Library.open(libpath) as lib:
        purge_missing(lib)
        run_to_end(duplicates.hash_images(lib))
        assert search(lib, "is:duplicate", limit=None).ids == []
        assert duplicates.groups(lib) == []
