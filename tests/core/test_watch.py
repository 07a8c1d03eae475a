"""The watcher: bursts become few transactions, renames keep labels, deletions go missing.

Events come from the real observer (inotify here), so tests wait for them by polling with a
generous timeout, then call ``flush()``: no sleeps that decide the outcome, no timed assertions.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from library_kit import rows, wait_for

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import Watcher, scan_roots

TIMEOUT = 20.0


def status_of(lib: Library, relpath: str) -> list[tuple]:
    return rows(lib, "SELECT id, image_id, status FROM files WHERE relpath = :p",
                p=relpath.replace("/", os.sep))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "art"
    root.mkdir()
    return root


class Watched:
    """Start a watcher that flushes only when told to; remembers the image ids it reported."""

    def __init__(self, lib: Library, root: Path) -> None:
        self.lib, self.root = lib, root
        self.reported: list[list[int]] = []
        self.watcher: Watcher | None = None

    def start(self) -> Watcher:
        self.watcher = Watcher(self.lib, [self.root], on_new_images=self.reported.append,
                               auto_flush=False)
        return self.watcher.start()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()


@pytest.fixture
def watched(lib, root):
    w = Watched(lib, root)
    try:
        yield w
    finally:
        w.stop()


def scan(lib: Library, root: Path) -> None:
    run_to_end(scan_roots(lib, [root], threading.Event()))


def count_writes(lib: Library, monkeypatch) -> list[str]:
    calls: list[str] = []
    real_write, real_submit = lib.write, lib.submit
    monkeypatch.setattr(lib, "write", lambda fn: calls.append("write") or real_write(fn))
    monkeypatch.setattr(lib, "submit", lambda fn: calls.append("submit") or real_submit(fn))
    return calls


def test_a_burst_of_50_new_files_is_a_few_transactions(lib, root, watched, make_image, monkeypatch) -> None:
    watcher, reported = watched.start(), watched.reported
    for i in range(50):
        make_image(root / f"{i:02d}.png", seed=i, size=(16, 16))
    wait_for(lambda: watcher.pending() >= 50, "50 creation events")
    writes = count_writes(lib, monkeypatch)
    summary = watcher.flush()
    assert (summary.new, summary.errors) == (50, 0)
    assert 1 <= len(writes) <= 3  # batches of up to 200 files (or 1 s) each
    assert rows(lib, "SELECT COUNT(*) FROM files WHERE status = 'ok'") == [(50,)]
    assert sum(map(len, reported)) == 50 and len(reported) == 1  # queued for tagging, once
    late = watcher.flush()  # events that arrived after the flush find nothing new
    assert (late.new, late.changed, late.hashed) == (0, 0, 0)


def test_rename_under_watch_keeps_the_row_and_labels(lib, root, watched, make_image) -> None:
    make_image(root / "a.jpg", seed=1)
    (root / "sub").mkdir()
    scan(lib, root)
    ((file_id, image_id, _),) = status_of(lib, "a.jpg")
    lib.set_label([image_id], "character:hatsune_miku", "accepted")
    watcher, reported = watched.start(), watched.reported

    os.rename(root / "a.jpg", root / "sub" / "b.jpg")
    wait_for(lambda: watcher.pending() >= 1, "a move event")
    summary = watcher.flush()
    assert (summary.moved, summary.new, summary.missing, summary.hashed) == (1, 0, 0, 0)
    assert status_of(lib, "sub/b.jpg") == [(file_id, image_id, "ok")]
    assert status_of(lib, "a.jpg") == []
    assert ("character", "hatsune_miku") in lib.effective_tags(image_id)
    assert reported == []  # nothing new to tag


def test_folder_rename_moves_every_file_in_it(lib, root, watched, make_image) -> None:
    for i in range(3):
        make_image(root / "old" / f"{i}.png", seed=i)
    scan(lib, root)
    before = rows(lib, "SELECT id, image_id FROM files ORDER BY id")
    watcher = watched.start()
    os.rename(root / "old", root / "new")
    wait_for(lambda: watcher.pending() >= 1, "a folder move event")
    summary = watcher.flush()
    assert (summary.moved, summary.missing, summary.new) == (3, 0, 0)
    assert rows(lib, "SELECT id, image_id FROM files ORDER BY id") == before
    assert {r[0] for r in rows(lib, "SELECT relpath FROM files")} == {
        os.path.join("new", f"{i}.png") for i in range(3)
    }


def test_deleted_file_goes_missing_with_labels_kept(lib, root, watched, make_image) -> None:
    make_image(root / "a.jpg", seed=1)
    make_image(root / "b.jpg", seed=2)
    scan(lib, root)
    ((_, image_id, _),) = status_of(lib, "a.jpg")
    lib.set_label([image_id], "smile", "accepted")
    watcher = watched.start()

    (root / "a.jpg").unlink()
    wait_for(lambda: watcher.pending() >= 1, "a deletion event")
    summary = watcher.flush()
    assert (summary.missing, summary.new) == (1, 0)
    assert status_of(lib, "a.jpg")[0][2] == "missing"
    assert status_of(lib, "b.jpg")[0][2] == "ok"
    assert lib.labels(image_id)


def test_deleted_folder_marks_its_files_missing(lib, root, watched, make_image) -> None:
    make_image(root / "dir" / "a.jpg", seed=1)
    scan(lib, root)
    watcher = watched.start()
    shutil.rmtree(root / "dir")
    wait_for(lambda: watcher.pending() >= 1, "deletion events")
    assert watcher.flush().missing == 1
    assert status_of(lib, "dir/a.jpg")[0][2] == "missing"


def test_changed_file_is_rescanned_and_reported_for_tagging(lib, root, watched, make_image) -> None:
    make_image(root / "a.png", seed=1)
    scan(lib, root)
    ((_, old_image, _),) = status_of(lib, "a.png")
    watcher, reported = watched.start(), watched.reported
    make_image(root / "a.png", seed=2, size=(20, 20))
    wait_for(lambda: watcher.pending() >= 1, "a modification event")
    summary = watcher.flush()
    ((_, new_image, _),) = status_of(lib, "a.png")
    assert summary.changed == 1 and new_image != old_image
    assert reported[-1] == [new_image]


def test_the_debounce_loop_flushes_on_its_own_and_stops(lib, root, make_image) -> None:
    seen: list[int] = []
    cancel = threading.Event()
    watcher = Watcher(lib, [root], on_new_images=seen.extend, quiet=0.1, max_delay=1.0,
                      cancel=cancel)
    with watcher:
        for i in range(5):
            make_image(root / f"{i}.png", seed=i)
        wait_for(lambda: len(seen) >= 5, "the watcher to index 5 files")
    assert not watcher.running and not cancel.is_set()  # stopping is not cancelling
    assert rows(lib, "SELECT COUNT(*) FROM files") == [(5,)]


def test_events_outside_images_and_the_library_are_ignored(tmp_path, make_image) -> None:
    root = tmp_path / "art"
    root.mkdir()
    with Library.open(root / "lib.sqlite") as lib:  # thumbnails are written inside the root
        watcher = Watcher(lib, [root], auto_flush=False).start()
        try:
            (root / "notes.txt").write_text("hi")
            make_image(root / "a.jpg")
            wait_for(lambda: watcher.flush() and status_of(lib, "a.jpg"), "a.jpg indexed")
            assert any(lib.location.thumbs_dir.rglob("*.jpg"))  # a thumbnail inside the root
            make_image(root / "b.jpg", seed=2)
            wait_for(lambda: watcher.flush() and status_of(lib, "b.jpg"), "b.jpg indexed")
            watcher.flush()
            assert rows(lib, "SELECT relpath FROM files ORDER BY relpath") == [("a.jpg",), ("b.jpg",)]
        finally:
            watcher.stop()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_watch_command_scans_then_indexes_changes_until_stopped(tmp_path, root, make_image,
                                                                stop) -> None:
    make_image(root / "before.png", seed=1)
    # faulthandler: if the command hangs, SIGABRT makes it print every thread's stack.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    # Ctrl-C must reach the command even when this test runs in a background job, whose
    # children inherit SIGINT ignored (and Python then installs no KeyboardInterrupt handler).
    args = ["--library", str(tmp_path / "w.sqlite"), "watch", "--quiet-seconds", "0.1", str(root)]
    start = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
             f"sys.argv = ['animesion', *{args!r}]; "
             "runpy.run_module('animesion_desktop.cli', run_name='__main__')")
    proc = subprocess.Popen(
        [sys.executable, "-c", start],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

    def read_until(words: str) -> list[str]:
        seen = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.2))
            except queue.Empty:
                continue
            if words in seen[-1]:
                return seen
        proc.kill()
        pytest.fail(f"no {words!r} in the output: {seen}")

    try:
        assert any("1 new" in line for line in read_until("watching"))
        make_image(root / "after.png", seed=2)
        read_until("1 new")
        proc.send_signal(stop)  # Ctrl-C, or a service manager stopping it
        try:
            code = proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            proc.wait(timeout=TIMEOUT)
            time.sleep(0.5)  # let the reader thread collect the stacks
            stacks = []
            while not lines.empty():
                stacks.append(lines.get())
            pytest.fail(f"watch did not stop after {stop!r}; its threads:\n" + "".join(stacks))
        assert code == 0
        assert any("stopped watching" in line for line in read_until("stopped"))
    finally:
        if proc.poll() is None:
            proc.kill()


# -- stopping drops nothing (issue 8 f) --------------------------------------------------------
def watch_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_events_noted_just_before_stop_are_indexed_by_stop(lib, root, make_image) -> None:
    # a long quiet time: only stop() can be what records them
    watcher = Watcher(lib, [root], quiet=600, max_delay=600).start()
    for i in range(5):
        make_image(root / f"{i}.png", seed=i)
    wait_for(lambda: watcher.pending() >= 5, "5 creation events")
    watcher.stop()
    assert rows(lib, "SELECT COUNT(*) FROM files WHERE status = 'ok' AND image_id IS NOT NULL"
                ) == [(5,)]
    assert watcher.pending() == 0


def test_stop_lets_a_flush_in_progress_finish(lib, root, make_image, monkeypatch) -> None:
    from animesion_desktop.core.scan import scanner

    entered, gate = threading.Event(), threading.Event()
    real = scanner.process_file

    def slow(*args, **kwargs):
        entered.set()
        gate.wait(TIMEOUT)
        return real(*args, **kwargs)

    monkeypatch.setattr(scanner, "process_file", slow)
    watcher = Watcher(lib, [root], quiet=0.05, max_delay=0.5, workers=1).start()
    for i in range(12):
        make_image(root / f"{i:02d}.png", seed=i)
    wait_for(lambda: watcher.pending() >= 12 or entered.is_set(), "the events")
    wait_for(entered.is_set, "a flush to start reading files")
    stopper = threading.Thread(target=watcher.stop)
    stopper.start()
    wait_for(lambda: not watcher.running, "stop() to begin")  # the observer is gone
    gate.set()
    stopper.join(TIMEOUT)
    assert not stopper.is_alive()
    assert rows(lib, "SELECT COUNT(*) FROM files WHERE status = 'ok' AND image_id IS NOT NULL"
                ) == [(12,)]


def test_quick_start_stop_cycles_leave_no_thread_and_keep_watching(lib, root, make_image) -> None:
    before = set(threading.enumerate())
    watcher = Watcher(lib, [root], quiet=0.05, max_delay=0.5)
    watcher.start()
    watcher.start()  # a second start of a running watcher is not a second observer
    watcher.stop()
    watcher.start()
    watcher.stop()
    assert watch_threads(before) == []
    seen: list[int] = []
    watcher = Watcher(lib, [root], on_new_images=seen.extend, quiet=0.05, max_delay=0.5)
    watcher.start()
    watcher.stop()
    watcher.start()  # started again after a stop: it still flushes on its own
    try:
        make_image(root / "late.png", seed=7)
        wait_for(lambda: len(seen) >= 1, "the restarted watcher to index late.png")
    finally:
        watcher.stop()
    assert watch_threads(before) == []
    assert status_of(lib, "late.png")[0][2] == "ok"


def test_a_failed_flush_keeps_what_it_took_for_the_next(lib, root, watched, make_image,
                                                        monkeypatch) -> None:
    watcher = watched.start()
    for i in range(3):
        make_image(root / f"{i}.png", seed=i)
    wait_for(lambda: watcher.pending() >= 3, "3 creation events")
    real = watcher._reconcile
    monkeypatch.setattr(watcher, "_reconcile", lambda *a: (_ for _ in ()).throw(OSError("disk")))
    with pytest.raises(OSError):
        watcher.flush()
    assert watcher.pending() >= 3
    monkeypatch.setattr(watcher, "_reconcile", real)
    assert watcher.flush().new == 3
