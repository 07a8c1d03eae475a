"""The watcher's arrivals in the app go through the one-pass indexer (``index_new_files``):
a file that appears under a watched root is read, thumbnailed, perceptually hashed and tagged
in the flush that records it, and nothing is left for a separate tagging job."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import tagging_kit as h
from library_kit import rows, wait_for
from PIL import Image

from animesion_desktop.core.indexing import index_new_files, still_untagged
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import Watcher, scan_roots, thumbnail_path
from animesion_desktop.core.similar.phash import phash
from animesion_desktop.core.tagging import packs_registry


def picture(path: Path, seed: int, size=(900, 700)) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("packs", [True, False])
def test_an_arriving_file_is_tagged_and_phashed_in_its_flush(tmp_path: Path, packs: bool) -> None:
    root = tmp_path / "art"
    root.mkdir()
    picture(root / "old.jpg", 1)
    with Library.open(tmp_path / "lib.sqlite") as lib:
        if packs:
            packs_registry.install(lib, h.write_real_pack(tmp_path / "pack", size=32))
        run_to_end(scan_roots(lib, [root], threading.Event()))
        reported: list[list[int]] = []
        watcher = Watcher(lib, [root], on_new_images=reported.append, auto_flush=False,
                          index=index_new_files).start()
        try:
            picture(root / "new.jpg", 2)
            wait_for(lambda: watcher.pending() >= 1, "a creation event")
            summary = watcher.flush()
        finally:
            watcher.stop()
        assert (summary.new, summary.errors) == (1, 0)
        ((image_id, image_hash),) = rows(
            lib, "SELECT i.id, i.hash FROM images i JOIN files f ON f.image_id = i.id "
                 "WHERE f.relpath = 'new.jpg'")
        assert reported == [[image_id]]
        thumb = thumbnail_path(lib.location.thumbs_dir, image_hash)
        with Image.open(thumb) as im:
            expected = phash(im)  # what `animesion duplicates` computes from the cache
        assert rows(lib, "SELECT phash FROM image_phash WHERE image_id = :i", i=image_id) == [
            (expected,)]
        tagged = rows(lib, "SELECT COUNT(*) FROM predictions WHERE image_id = :i", i=image_id)
        runs = rows(lib, "SELECT error FROM inference_runs WHERE image_id = :i", i=image_id)
        if packs:
            assert tagged[0][0] > 0 and runs == [(None,)]
        else:
            assert tagged == [(0,)] and runs == []
        # nothing is left for the app's "Tag new arrivals" job
        assert still_untagged(lib, [image_id]) == []


def test_a_pack_that_cannot_open_leaves_the_arrival_indexed(tmp_path: Path) -> None:
    root = tmp_path / "art"
    root.mkdir()
    with Library.open(tmp_path / "lib.sqlite") as lib:
        packs_registry.install(lib, h.write_real_pack(tmp_path / "pack", size=32))
        lib.add_root(root)

        def broken(path, device, **kw):
            from animesion_desktop.core.tagging.job import TaggingError

            raise TaggingError("weights.safetensors is damaged")

        def index(*args, **kw):
            return index_new_files(*args, open_pack=broken, **kw)

        watcher = Watcher(lib, [root], auto_flush=False, index=index).start()
        try:
            picture(root / "new.jpg", 3, size=(64, 48))
            wait_for(lambda: watcher.pending() >= 1, "a creation event")
            summary = watcher.flush()
        finally:
            watcher.stop()
        assert (summary.new, summary.errors) == (1, 0)
        ((image_id,),) = rows(lib, "SELECT image_id FROM files")
        assert rows(lib, "SELECT COUNT(*) FROM image_phash") == [(1,)]
        assert still_untagged(lib, [image_id]) == [image_id]  # the tagging job's to report
