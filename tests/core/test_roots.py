"""Removing a root: its files go, images shown elsewhere stay whole, images only there leave
the library unless they carry decisions, which are kept unless the caller asks otherwise."""

from __future__ import annotations

from pathlib import Path

import library_kit
import pytest
from sqlalchemy import text

from animesion_desktop.core.errors import UserError
from animesion_desktop.core.library import Library
from animesion_desktop.core.roots import removal_plan, remove_root
from animesion_desktop.core.scan.thumbnails import thumbnail_path
from animesion_desktop.core.search import search


def _hashes(lib: Library) -> dict[int, str]:
    with lib.read() as s:
        return {int(i): str(h) for i, h in s.execute(text("SELECT id, hash FROM images"))}


@pytest.fixture
def two_roots(lib: Library, tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    ra, rb = lib.add_root(a), lib.add_root(b)
    only_a = library_kit.add_images(lib, ra, [{}, {}, {}])
    shared = library_kit.add_images(lib, ra, [{}])[0]
    lib.write(lambda s: s.execute(text(
        "INSERT INTO files (root_id, relpath_raw, relpath, size, mtime_ns, image_id, status, "
        "seen_at) VALUES (:r, x'63', 'c', 1, 0, :i, 'ok', 0)"), {"r": rb, "i": shared}))
    in_b = library_kit.add_images(lib, rb, [{}])[0]
    lib.set_label([only_a[0]], "character:alice", "accepted")
    lib.set_label([only_a[0], shared], "red_hair", "rejected")
    for h in _hashes(lib).values():
        path = thumbnail_path(lib.location.thumbs_dir, h)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"jpeg")
    return lib, ra, rb, only_a, shared, in_b


def test_plan_counts_what_is_dropped_and_removal_keeps_decisions(two_roots) -> None:
    lib, ra, rb, only_a, shared, in_b = two_roots
    plan = removal_plan(lib, ra)
    assert (plan.files, plan.images, plan.labelled, plan.labels) == (4, 3, 1, 2)
    before = _hashes(lib)
    done = remove_root(lib, ra)
    assert done == plan
    assert [r.id for r in lib.roots()] == [rb]
    left = _hashes(lib)
    # the labelled image stays (without a file), with every label; the others are gone
    assert set(left) == {only_a[0], shared, in_b}
    assert {(c, n, st) for c, n, st, _s, _a in lib.labels(only_a[0])} == {
        ("character", "alice", "accepted"), ("general", "red_hair", "rejected")}
    assert [(n, st) for _c, n, st, _s, _a in lib.labels(shared)] == [("red_hair", "rejected")]
    for gone in only_a[1:]:
        assert not thumbnail_path(lib.location.thumbs_dir, before[gone]).exists()
    assert thumbnail_path(lib.location.thumbs_dir, before[only_a[0]]).exists()
    assert set(search(lib, "", limit=None).ids) == {only_a[0], shared, in_b}
    assert "1 image with 2 decisions kept" in done.line()


def test_dropping_labelled_images_only_when_asked(two_roots) -> None:
    lib, ra, _rb, only_a, shared, in_b = two_roots
    remove_root(lib, ra, keep_labelled=False)
    assert set(_hashes(lib)) == {shared, in_b}
    assert lib.labels(shared)  # an image still shown elsewhere keeps its labels
    with pytest.raises(UserError, match="not in the library"):
        removal_plan(lib, ra)
