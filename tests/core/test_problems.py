"""Unreadable and missing files with their reasons, and the purge plan's counts matching what
purge_missing then forgets."""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.problems import problems, purge_plan
from animesion_desktop.core.scan import purge_missing, scan_roots


def test_problems_and_purge_plan(lib: Library, tmp_path: Path) -> None:
    pics = tmp_path / "pics"
    pics.mkdir()
    for i, colour in enumerate(["red", "green", "blue"]):
        Image.new("RGB", (20 + i, 20), colour).save(pics / f"{colour}.png")
    (pics / "broken.png").write_bytes(b"not a picture")
    lib.add_root(pics)
    run_to_end(scan_roots(lib, [pics], threading.Event()))
    red = lib.image_for_path(pics / "red.png")
    green = lib.image_for_path(pics / "green.png")
    assert red is not None and green is not None
    lib.set_label([red], "character:alice", "accepted")
    (pics / "red.png").unlink()
    (pics / "green.png").unlink()
    run_to_end(scan_roots(lib, [pics], threading.Event()))

    found = problems(lib)
    assert (found.unreadable, found.missing) == (1, 2)
    by_name = {Path(p.path).name: p for p in found.files}
    assert by_name["broken.png"].status == "error" and by_name["broken.png"].reason
    assert by_name["red.png"].status == "missing" and by_name["red.png"].image_id == red
    assert by_name["green.png"].reason.startswith("no longer on disk")

    plan = purge_plan(lib)
    assert (plan.files, plan.images, plan.labelled, plan.labels) == (2, 2, 1, 1)
    done = purge_missing(lib)
    assert (done.files, done.images) == (plan.files, plan.images)
    assert problems(lib).missing == 0
