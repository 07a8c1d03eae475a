"""The Qt adapter runs core jobs off the GUI thread and hands results back on it."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from PySide6.QtCore import QThread, QThreadPool

from animesion_desktop.core.jobs import Progress
from animesion_desktop.ui.workers import JobRunner, TaskRunner


def counting_job(cancel: threading.Event, n: int, seen_threads: list):
    seen_threads.append(QThread.currentThread())
    done = 0
    for done in range(1, n + 1):
        if cancel.is_set():
            break
        yield Progress("counting", done, n)
    return f"counted {done}"


def test_job_runner_reports_progress_and_result_on_gui_thread(qtbot) -> None:
    runner = JobRunner()
    threads: list = []
    progress: list[int] = []
    runner.progress.connect(lambda p: progress.append(p.done))
    with qtbot.waitSignal(runner.finished, timeout=10_000) as blocker:
        assert runner.start(lambda cancel: counting_job(cancel, 5, threads))
    assert blocker.args == ["counted 5"]
    assert progress == [1, 2, 3, 4, 5]
    assert threads and threads[0] is not QThread.currentThread()
    assert not runner.busy


def test_job_runner_refuses_a_second_job_and_cancels(qtbot) -> None:
    runner = JobRunner()
    gate = threading.Event()

    def slow(cancel: threading.Event):
        yield Progress("waiting", 0, None)
        gate.wait(10)
        n = 0
        while not cancel.is_set() and n < 10_000_000:
            n += 1
            yield Progress("spinning", n, None)
        return "stopped" if cancel.is_set() else "ran out"

    with qtbot.waitSignal(runner.finished, timeout=20_000) as blocker:
        assert runner.start(slow)
        assert not runner.start(slow)
        runner.cancel()
        gate.set()
    assert blocker.args == ["stopped"]


def test_job_errors_become_messages(qtbot) -> None:
    runner = JobRunner()

    def broken(cancel: threading.Event):
        yield Progress("x", 0)
        raise ValueError("photo.png: not an image")

    with qtbot.waitSignal(runner.failed, timeout=10_000) as blocker:
        runner.start(broken)
    assert blocker.args == ["photo.png: not an image"]


def test_task_runner_calls_back_with_result_and_error(qtbot) -> None:
    tasks = TaskRunner()
    results: list = []
    errors: list = []
    tasks.run(lambda: 6 * 7, results.append)
    tasks.run(lambda: 1 / 0, None, errors.append)
    qtbot.waitUntil(lambda: bool(results and errors), timeout=10_000)
    assert results == [42]
    assert "ZeroDivisionError" in errors[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_jobs_run_nicer_than_the_gui_thread_and_it_does_not_add_up(qtbot) -> None:
    from animesion_desktop.core.priority import BACKGROUND_NICENESS

    def niceness_job(cancel: threading.Event, seen: list):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        yield Progress("looking", 1, 1)
        return None

    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []
    # A small pool: both jobs likely land on the same pooled thread, which must not get nicer
    # with every job it runs.
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    runner = JobRunner(pool)
    for _ in range(2):
        with qtbot.waitSignal(runner.finished, timeout=10_000):
            assert runner.start(lambda cancel: niceness_job(cancel, seen))
    assert seen == [min(19, gui + BACKGROUND_NICENESS)] * 2
