"""Jobs queue instead of being dropped, never hold up reads or writes, and keep the watcher."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QFileDialog, QMessageBox

from animesion_desktop.core.jobs import Progress
from animesion_desktop.core.library import Library


class Gate:
    """A job body that waits for the test, then runs the real job (or fails)."""

    def __init__(self, real=None, error: str | None = None) -> None:
        self.open = threading.Event()
        self.started = threading.Event()
        self._real, self._error = real, error

    def __call__(self, *args, **kwargs):
        self.started.set()
        yield Progress("waiting", 0, None)
        self.open.wait(20)
        if self._error is not None:
            raise RuntimeError(self._error)
        if self._real is not None:
            return (yield from self._real(*args, **kwargs))
        return "done"


@pytest.fixture
def dialogs(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: shown.append(text))
    return shown


def test_add_folder_during_background_tagging_is_queued_not_dropped(
        qtbot, ui, lib: Library, tmp_path: Path, monkeypatch, dialogs) -> None:
    """Defect i: it was refused with "Another job is running", and the background job's later
    failure then popped a dialog."""
    import animesion_desktop.core.indexing as indexing
    import animesion_desktop.core.tagging as tagging

    tagging_run = Gate(error="no active model pack")
    monkeypatch.setattr(tagging, "tag_images", tagging_run)
    # The watcher's one pass tags arrivals itself; what it leaves (a pack failed, say) goes on
    # to a background tagging job. Here it leaves everything, so that job runs.
    monkeypatch.setattr(indexing, "still_untagged", lambda _lib, ids: list(ids))
    window = ui.open_window(qtbot, lib)
    window.watch.sync()
    qtbot.waitUntil(lambda: window.watch.watcher is not None)
    ui.add_images(lib.roots()[0].path, ["arrival"])  # the watcher starts tagging it
    qtbot.waitUntil(tagging_run.started.is_set, timeout=30_000)

    more = tmp_path / "more"
    more.mkdir()
    ui.add_images(more, ["m1", "m2"])
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(more))
    window.act_add.trigger()
    assert "Add folder" in window.job_status.queue_label.text()
    assert dialogs == []

    tagging_run.open.set()
    qtbot.waitUntil(lambda: window.model.rowCount() == 7, timeout=30_000)
    ui.settle(qtbot, window)
    assert dialogs == []  # the background failure is a status line
    assert window.job_status.queue_label.text() == ""
    assert {str(r.path) for r in lib.roots()} >= {str(more)}


def test_a_failing_job_the_user_started_does_show_a_dialog(
        qtbot, ui, lib: Library, monkeypatch, dialogs) -> None:
    import animesion_desktop.core.tagging as tagging

    monkeypatch.setattr(tagging, "tag_images", Gate(error="no active model pack"))
    window = ui.open_window(qtbot, lib)
    tagging.tag_images.open.set()
    window.act_tag.trigger()
    ui.settle(qtbot, window)
    assert len(dialogs) == 1 and "no active model pack" in dialogs[0]


def test_a_long_job_does_not_hold_up_searches_or_labels(
        qtbot, ui, lib: Library, monkeypatch) -> None:
    """Defect h: jobs, reads and writes shared the global pool (one thread on a one-core
    machine): a running job made every search and label wait behind it."""
    import animesion_desktop.core.indexing as indexing

    global_pool = QThreadPool.globalInstance()
    before = global_pool.maxThreadCount()
    global_pool.setMaxThreadCount(1)
    try:
        job = Gate()
        monkeypatch.setattr(indexing, "index_and_tag", job)  # what Rescan runs
        window = ui.open_window(qtbot, lib, wait=False)
        qtbot.waitUntil(lambda: window.model.rowCount() == 4)
        window.act_scan.trigger()
        qtbot.waitUntil(job.started.is_set)
        ui.search_for(qtbot, window, "path:red*")
        qtbot.waitUntil(lambda: window.model.rowCount() == 1)
        image = window.model.image_id(0)
        ui.click_image_no_settle(qtbot, window, image)
        ui.add_tags(qtbot, window, "sky")
        qtbot.waitUntil(lambda: ui.user_labels(lib, [image]) == {(image, "sky"): "accepted"})
        assert window.jobs.lane.busy  # all of it while the job was still running
        job.open.set()
        ui.settle(qtbot, window)
    finally:
        global_pool.setMaxThreadCount(before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_job_s_niceness_never_reaches_a_search(qtbot, ui, lib: Library, slow_search) -> None:
    """Defect h: a pooled thread that had run a job ran later searches at background priority."""
    seen: list[int] = []
    real = slow_search._real

    def recording(*args, **kwargs):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real(*args, **kwargs)

    slow_search._real = recording
    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    window = ui.open_window(qtbot, lib)
    for _ in range(3):
        with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
            window.act_scan.trigger()
        ui.search_for(qtbot, window, "path:blue*")
        ui.settle(qtbot, window)
    assert seen and set(seen) == {gui}


def test_the_watcher_restarts_only_when_the_roots_change(
        qtbot, ui, lib: Library, tmp_path: Path, monkeypatch) -> None:
    """Defect f (the window's side): it was stopped and restarted after every job."""
    window = ui.open_window(qtbot, lib)
    window.watch.sync()
    ui.settle(qtbot, window)
    first = window.watch.watcher
    assert first is not None and window.watch.restarts == 1
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        window.act_scan.trigger()
    ui.settle(qtbot, window)
    assert window.watch.watcher is first and window.watch.restarts == 1

    more = tmp_path / "more"
    more.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(more))
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        window.act_add.trigger()
    ui.settle(qtbot, window)
    assert window.watch.restarts == 2 and window.watch.watcher is not first
    ui.add_images(more, ["dropped_in"])  # the new root is watched
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=30_000)


def test_nothing_in_the_ui_uses_the_global_pool() -> None:
    ui_dir = Path(__file__).parents[2] / "animesion_desktop" / "ui"
    users = [p.name for p in ui_dir.glob("*.py") if "globalInstance" in p.read_text()]
    assert users == []


def test_a_file_copied_in_as_a_job_ends_is_indexed(qtbot, ui, lib: Library, monkeypatch) -> None:
    """Defect f: the restart after every job dropped what the watcher had noted, so a file
    copied in during a tagging run stayed out of the library until a manual rescan."""
    import animesion_desktop.core.tagging as tagging

    run = Gate()
    monkeypatch.setattr(tagging, "tag_images", run)
    window = ui.open_window(qtbot, lib)
    window.watch.sync()
    ui.settle(qtbot, window)
    window.act_tag.trigger()
    qtbot.waitUntil(run.started.is_set)
    ui.add_images(lib.roots()[0].path, ["copied_in"])
    run.open.set()  # the job ends while the watcher still waits for the copy to settle
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=30_000)
    assert window.watch.restarts == 1
