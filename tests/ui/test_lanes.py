"""The lanes run core work off the GUI thread, in their own pools, and hand results back."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from PySide6.QtCore import QThread

from animesion_desktop.core.jobs import Progress
from animesion_desktop.ui.lanes import JobLane, OrderedLane, QueuedJob, ReadLane


def counting_job(cancel: threading.Event, n: int, seen_threads: list):
    seen_threads.append(QThread.currentThread())
    done = 0
    for done in range(1, n + 1):
        if cancel.is_set():
            break
        yield Progress("counting", done, n)
    return f"counted {done}"


def test_job_lane_reports_progress_and_result_on_gui_thread(qtbot) -> None:
    lane = JobLane()
    threads: list = []
    progress: list[int] = []
    lane.progress.connect(lambda p: progress.append(p.done))
    with qtbot.waitSignal(lane.finished, timeout=10_000) as blocker:
        lane.submit(QueuedJob("count", lambda cancel: counting_job(cancel, 5, threads)))
    assert blocker.args[1] == "counted 5"
    assert progress == [1, 2, 3, 4, 5]
    assert threads and threads[0] is not QThread.currentThread()
    assert not lane.busy


def test_job_lane_queues_a_second_job_and_cancels_only_the_running_one(qtbot) -> None:
    lane = JobLane()
    gate = threading.Event()
    results: list[str] = []
    lane.finished.connect(lambda job, summary: results.append(f"{job.title}: {summary}"))

    def slow(cancel: threading.Event):
        yield Progress("waiting", 0, None)
        gate.wait(10)
        return "stopped" if cancel.is_set() else "ran out"

    lane.submit(QueuedJob("first", slow))
    lane.submit(QueuedJob("second", slow))
    assert lane.running is not None and lane.running.title == "first"
    assert [j.title for j in lane.queued] == ["second"]
    lane.cancel()
    gate.set()
    qtbot.waitUntil(lambda: len(results) == 2, timeout=20_000)
    assert results == ["first: stopped", "second: ran out"]


def test_job_errors_become_messages(qtbot) -> None:
    lane = JobLane()

    def broken(cancel: threading.Event):
        yield Progress("x", 0)
        raise ValueError("photo.png: not an image")

    with qtbot.waitSignal(lane.failed, timeout=10_000) as blocker:
        lane.submit(QueuedJob("broken", broken))
    assert blocker.args[1] == "photo.png: not an image"


def test_read_lane_calls_back_with_result_and_error(qtbot) -> None:
    reads = ReadLane()
    results: list = []
    errors: list = []
    reads.run(None, lambda: 6 * 7, results.append)
    reads.run(None, lambda: 1 / 0, None, errors.append)
    qtbot.waitUntil(lambda: reads.pending == 0, timeout=10_000)
    assert results == [42]
    assert "ZeroDivisionError" in errors[0]


def test_read_lane_drops_an_answer_a_newer_request_replaced(qtbot) -> None:
    reads = ReadLane()
    gate = threading.Event()
    shown: list[str] = []

    def slow() -> str:
        gate.wait(10)
        return "old"

    reads.run("search", slow, shown.append)
    reads.run("search", lambda: "new", shown.append)
    qtbot.waitUntil(lambda: shown == ["new"], timeout=10_000)
    gate.set()
    qtbot.waitUntil(lambda: reads.pending == 0, timeout=10_000)
    assert shown == ["new"]


def test_ordered_lane_runs_first_in_first_out(qtbot) -> None:
    lane = OrderedLane()
    ran: list[int] = []
    landed: list[int] = []
    for i in range(50):
        lane.run(lambda i=i: ran.append(i) or i, landed.append)
    qtbot.waitUntil(lambda: lane.pending == 0, timeout=10_000)
    assert ran == list(range(50)) and landed == list(range(50))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_jobs_run_nicer_than_the_gui_thread_and_it_does_not_add_up(qtbot) -> None:
    from animesion_desktop.core.priority import BACKGROUND_NICENESS

    def niceness_job(cancel: threading.Event, seen: list):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        yield Progress("looking", 1, 1)
        return None

    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []
    lane = JobLane()  # one thread: both jobs run on it, which must not get nicer each time
    for _ in range(2):
        with qtbot.waitSignal(lane.finished, timeout=10_000):
            lane.submit(QueuedJob("nice", lambda cancel: niceness_job(cancel, seen)))
    assert seen == [min(19, gui + BACKGROUND_NICENESS)] * 2
