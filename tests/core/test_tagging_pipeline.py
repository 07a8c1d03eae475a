"""Tagging mechanics with a fake predictor: storage, resume, force, errors, labels, cancel."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import tagging_kit as h
from library_kit import rows
from sqlalchemy import text

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.priority import BACKGROUND_NICENESS
from animesion_desktop.core.tagging.job import TaggingError, run_pack, tag_images

CHARACTERS, FAKE_HEADS, FakePredictor = h.CHARACTERS, h.FAKE_HEADS, h.FakePredictor
add_files, colour_library, make_image = h.add_files, h.colour_library, h.make_image
register_fake_pack = h.register_fake_pack


@pytest.fixture
def lib(tmp_path: Path):
    library = Library.open(tmp_path / "lib.sqlite")
    yield library
    library.close()


def run(lib, pack, predictor, cancel=None, **kw):
    return run_to_end(run_pack(lib, pack, predictor, FAKE_HEADS, cancel or threading.Event(),
                               decode_threads=2, **kw))


def predictions(lib, image_id):
    return {
        (c, n): score
        for c, n, score in rows(
            lib,
            "SELECT t.category, t.name, p.score FROM predictions p JOIN tags t ON t.id = p.tag_id "
            "WHERE p.image_id = :i",
            i=image_id,
        )
    }


def test_predictions_are_stored_and_effective_tags_follow_thresholds(lib, tmp_path) -> None:
    red, green, dark = colour_library(lib, tmp_path / "pics", ["red", "green", "dark"])
    pack = register_fake_pack(lib)
    predictor = FakePredictor(batch_size=2)
    result = run(lib, pack, predictor)
    assert (result.total, result.tagged, result.failed) == (3, 3, [])
    assert predictor.threads == {"tag-inference"}  # one thread owns the model
    assert rows(lib, "SELECT COUNT(*), COUNT(error) FROM inference_runs") == [(3, 0)]

    p = predictions(lib, red)
    # the top 5 characters are kept even far below the floor; all ratings; tags above the floor
    assert len([k for k in p if k[0] == "character"]) == 5
    assert p[("character", "alice")] > 0.9 and min(
        v for k, v in p.items() if k[0] == "character") < 0.01
    assert {k for k in p if k[0] == "rating"} == {("rating", "general"), ("rating", "sensitive"),
                                                   ("rating", "explicit")}
    assert p[("general", "red")] == pytest.approx(230 / 255, abs=1e-3)
    assert ("general", "dark") not in p or p[("general", "dark")] >= 0.01

    assert lib.effective_tags(red) == [("character", "alice"), ("general", "red"),
                                       ("rating", "general")]
    assert ("general", "green") in lib.effective_tags(green)
    assert ("character", "dave") in lib.effective_tags(dark)

    # thresholds apply at read time: lowering one changes the effective tags without a rerun
    lib.set_threshold("fake", "green", 0.05)
    assert ("general", "green") in lib.effective_tags(red)

    blob, dim = rows(lib, "SELECT vector, dim FROM embeddings WHERE image_id = :i", i=red)[0]
    vec = np.frombuffer(blob, dtype="<f2")
    assert dim == 4 and vec.shape == (4,) and vec[0] == pytest.approx(230 / 255, abs=1e-3)


def test_rerun_skips_done_images_and_new_images_are_picked_up(lib, tmp_path) -> None:
    colour_library(lib, tmp_path / "pics", ["red", "blue"])
    pack = register_fake_pack(lib)
    assert run(lib, pack, FakePredictor()).tagged == 2
    again = FakePredictor()
    result = run(lib, pack, again)
    assert (result.total, again.batches) == (0, [])
    (new,) = add_files(lib, tmp_path / "pics",
                       [make_image(tmp_path / "pics" / "new.png", (20, 230, 20))])
    result = run(lib, pack, FakePredictor())
    assert result.total == 1 and rows(lib, "SELECT COUNT(*) FROM inference_runs") == [(3,)]


def test_force_redoes_and_replaces_predictions_wholesale(lib, tmp_path) -> None:
    (red,) = colour_library(lib, tmp_path / "pics", ["red"])
    pack = register_fake_pack(lib)
    run(lib, pack, FakePredictor(boost={"green": 0.9}))
    assert ("general", "green") in lib.effective_tags(red)
    first_at = rows(lib, "SELECT at FROM inference_runs")[0][0]

    result = run(lib, pack, FakePredictor(boost={"green": 0.0}), force=True)
    assert result.total == 1
    assert ("general", "green") not in predictions(lib, red)  # gone, not just below threshold
    assert ("general", "green") not in lib.effective_tags(red)
    assert rows(lib, "SELECT COUNT(*) FROM inference_runs") == [(1,)]
    assert rows(lib, "SELECT at FROM inference_runs")[0][0] >= first_at
    assert rows(lib, "SELECT COUNT(*) FROM embeddings") == [(1,)]


def test_a_corrupt_file_costs_only_that_image(lib, tmp_path) -> None:
    root = tmp_path / "pics"
    good = [make_image(root / f"g{i}.png", (230, 20, 20)) for i in range(5)]
    broken = root / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    text_file = root / "notes.jpg"
    text_file.write_text("hello")
    truncated = make_image(root / "cut.jpg", (20, 20, 230), size=256, fmt="JPEG")
    truncated.write_bytes(truncated.read_bytes()[:300])
    ids = add_files(lib, root, [good[0], broken, good[1], text_file, good[2], truncated, *good[3:]])
    pack = register_fake_pack(lib)
    result = run(lib, pack, FakePredictor(batch_size=4))
    assert result.tagged == 5
    failed = {Path(path).name: msg for _, path, msg in result.failed}
    assert set(failed) == {"broken.png", "notes.jpg", "cut.jpg"}
    assert all(msg for msg in failed.values())
    errors = dict(rows(lib, "SELECT image_id, error FROM inference_runs"))
    assert len(errors) == len(ids)
    assert [i for i in ids if errors[i] is not None] == [ids[1], ids[3], ids[5]]
    assert predictions(lib, ids[1]) == {} and predictions(lib, ids[2])
    # a failed image counts as done: a rerun does not retry it, --force does
    assert run(lib, pack, FakePredictor()).total == 0


def test_labels_are_untouched_by_a_run(lib, tmp_path) -> None:
    red, blue = colour_library(lib, tmp_path / "pics", ["red", "blue"])
    lib.set_label([red], "red", "rejected")
    lib.set_label([blue], "character:grace", "accepted")
    before = rows(lib, "SELECT * FROM labels ORDER BY image_id")
    pack = register_fake_pack(lib)
    run(lib, pack, FakePredictor(boost={"red": 0.99}))
    assert predictions(lib, red)[("general", "red")] == pytest.approx(0.99)
    assert rows(lib, "SELECT * FROM labels ORDER BY image_id") == before
    assert ("general", "red") not in lib.effective_tags(red)  # rejected stays hidden
    assert ("general", "red") in lib.effective_tags(blue)
    assert ("character", "grace") in lib.effective_tags(blue)  # accepted stays, unpredicted


def test_cancel_mid_run_keeps_what_is_done_and_a_rerun_resumes(lib, tmp_path) -> None:
    ids = colour_library(lib, tmp_path / "pics", ["red", "green", "blue", "dark"] * 10)
    pack = register_fake_pack(lib)
    cancel = threading.Event()
    job = run_pack(lib, pack, FakePredictor(batch_size=2, delay=0.03), FAKE_HEADS, cancel)
    for progress in job:
        if progress.done >= 6:
            cancel.set()
    # the generator finished on its own; its return value was the summary
    done = rows(lib, "SELECT COUNT(*) FROM inference_runs")[0][0]
    assert 6 <= done < len(ids)
    assert not [t for t in threading.enumerate() if t.name.startswith("tag-")]

    result = run(lib, pack, FakePredictor(batch_size=8))
    assert result.total == len(ids) - done and not result.cancelled
    assert rows(lib, "SELECT COUNT(*), COUNT(DISTINCT image_id) FROM inference_runs") == [
        (len(ids), len(ids))]


def test_closing_the_job_early_commits_what_was_inferred(lib, tmp_path) -> None:
    colour_library(lib, tmp_path / "pics", ["red", "green"] * 10)
    pack = register_fake_pack(lib)
    job = run_pack(lib, pack, FakePredictor(batch_size=2, delay=0.02), FAKE_HEADS,
                   threading.Event())
    seen = 0
    for progress in job:
        seen = progress.done
        if seen >= 4:
            break
    job.close()
    done = rows(lib, "SELECT COUNT(*) FROM inference_runs")[0][0]
    assert seen <= done < 20
    assert not [t for t in threading.enumerate() if t.name.startswith("tag-")]


def test_writes_are_batched(lib, tmp_path, monkeypatch) -> None:
    colour_library(lib, tmp_path / "pics", ["red", "green", "blue", "dark"] * 25)
    pack = register_fake_pack(lib)
    submits = []
    real_submit = lib.submit
    monkeypatch.setattr(lib, "submit", lambda fn: submits.append(fn) or real_submit(fn))
    result = run(lib, pack, FakePredictor(batch_size=16))
    assert result.tagged == 100
    assert len(submits) <= 4  # 100 images in batches of 64 (or 2 s), not one per image


class Exploding(FakePredictor):
    def predict(self, batch):
        if len(self.batches) >= 2:
            raise RuntimeError("device lost")
        return super().predict(batch)


def test_a_model_failure_stops_the_job_and_keeps_what_was_committed(lib, tmp_path) -> None:
    colour_library(lib, tmp_path / "pics", ["red"] * 12)
    pack = register_fake_pack(lib)
    with pytest.raises(TaggingError, match="device lost"):
        run(lib, pack, Exploding(batch_size=2))
    assert rows(lib, "SELECT COUNT(*) FROM inference_runs") == [(4,)]
    assert not [t for t in threading.enumerate() if t.name.startswith("tag-")]


def test_tag_images_runs_the_active_packs_and_reports_devices(lib, tmp_path) -> None:
    colour_library(lib, tmp_path / "pics", ["red", "blue"])
    register_fake_pack(lib, "one")
    register_fake_pack(lib, "two", active=False)
    opened = []

    def open_pack(path, device):
        opened.append((path.name, device))
        return type("P", (), {"heads": FAKE_HEADS, "input": None})(), FakePredictor(), ["slow"]

    progress = []
    job = tag_images(lib, None, threading.Event(), device="cpu", open_pack=open_pack)
    while True:
        try:
            progress.append(next(job))
        except StopIteration as stop:
            summary = stop.value
            break
    assert opened == [("one", "cpu")]
    assert [r.pack for r in summary.runs] == ["one"] and summary.tagged == 2
    assert any(p.extra.get("warnings") == ["slow"] for p in progress)
    assert progress[-1].done == 2 and progress[-1].extra["device"] == "fake CPU"
    summary = run_to_end(tag_images(lib, "two", threading.Event(), open_pack=open_pack))
    assert summary.runs[0].pack == "two" and summary.tagged == 2


def test_no_pack_installed_or_active_is_a_clear_error(lib) -> None:
    with pytest.raises(TaggingError, match="packs install"):
        run_to_end(tag_images(lib, None, threading.Event()))
    register_fake_pack(lib, "off", active=False)
    with pytest.raises(TaggingError, match="activate"):
        run_to_end(tag_images(lib, None, threading.Event()))
    with pytest.raises(TaggingError, match="no pack named 'nope'"):
        run_to_end(tag_images(lib, "nope", threading.Event()))


def test_images_without_a_readable_file_are_not_attempted(lib, tmp_path) -> None:
    red, blue = colour_library(lib, tmp_path / "pics", ["red", "blue"])
    lib.write(lambda s: s.execute(text("UPDATE files SET status = 'missing' WHERE image_id = :i"),
                                  {"i": blue}))
    pack = register_fake_pack(lib)
    result = run(lib, pack, FakePredictor())
    assert result.total == 1 and rows(lib, "SELECT image_id FROM inference_runs") == [(red,)]


def test_a_second_copy_is_used_when_the_first_cannot_be_read(lib, tmp_path) -> None:
    (red,) = colour_library(lib, tmp_path / "pics", ["red"])
    copy = make_image(tmp_path / "pics" / "copy.png", (230, 20, 20))

    def add_copy(s):
        s.execute(text("INSERT INTO files (root_id, relpath_raw, relpath, size, mtime_ns, image_id,"
                       " status, seen_at) SELECT root_id, :raw, 'copy.png', size, 0, image_id,"
                       " 'ok', 0 FROM files WHERE image_id = :i"), {"raw": b"copy.png", "i": red})

    lib.write(add_copy)
    (tmp_path / "pics" / "000_red.png").unlink()  # the scan has not noticed yet
    result = run(lib, register_fake_pack(lib), FakePredictor())
    assert result.tagged == 1 and result.failed == [] and copy.exists()
    assert ("character", CHARACTERS[0]) in lib.effective_tags(red)


def test_a_query_restricts_the_run(lib, tmp_path) -> None:
    root = tmp_path / "pics"
    ids = h.add_files(lib, root, [make_image(root / "keep" / "a.png", (230, 20, 20)),
                                  make_image(root / "keep" / "b.png", (20, 20, 230)),
                                  make_image(root / "skip" / "c.png", (20, 230, 20))])
    register_fake_pack(lib)

    def open_pack(path, device):
        return type("P", (), {"heads": FAKE_HEADS, "input": None})(), FakePredictor(), []

    summary = run_to_end(tag_images(lib, None, threading.Event(), query="path:keep/*",
                                    open_pack=open_pack))
    assert summary.tagged == 2
    assert rows(lib, "SELECT image_id FROM inference_runs ORDER BY 1") == [(ids[0],), (ids[1],)]
    with pytest.raises(TaggingError, match="selects files"):
        run_to_end(tag_images(lib, None, threading.Event(), query="is:error",
                              open_pack=open_pack))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_decoding_runs_nicer_than_the_model(lib, tmp_path) -> None:
    """Decode threads yield the cores to the inference thread (and to a GUI)."""
    seen: dict[str, int] = {}

    class Recording(FakePredictor):
        def _record(self) -> None:
            me = threading.current_thread().name.split("-")[1]  # tag-decode-N / tag-inference
            seen[me] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

        def preprocess(self, image):
            self._record()
            return super().preprocess(image)

        def predict(self, batch):
            self._record()
            return super().predict(batch)

    colour_library(lib, tmp_path / "pics", ["red", "green", "blue"])
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    run(lib, register_fake_pack(lib), Recording())
    assert seen["inference"] == caller
    assert seen["decode"] == min(19, caller + BACKGROUND_NICENESS)
