"""The command line at its edges: interrupts inside a job, and a reader that goes away."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from animesion_desktop.commands.progress import drive
from animesion_desktop.core.jobs import Job, Progress


def test_an_interrupt_between_steps_cancels_and_keeps_the_summary() -> None:
    cancel = threading.Event()
    state = {"first": True}

    def job() -> Job[str]:
        while not cancel.is_set():
            yield Progress("work", 0, None)
        return "summary"

    gen = job()
    original_next = next

    def interrupting(g):  # the interrupt lands in drive's own frame, between two steps
        if state["first"]:
            state["first"] = False
            raise KeyboardInterrupt
        return original_next(g)

    import animesion_desktop.commands.progress as progress

    progress.next = interrupting  # type: ignore[attr-defined]
    try:
        assert drive(gen, cancel) == "summary"
    finally:
        del progress.next  # type: ignore[attr-defined]
    assert cancel.is_set()


def test_an_interrupt_that_ends_the_job_is_raised_not_turned_into_none() -> None:
    def job() -> Job[str]:
        yield Progress("work", 0, None)
        raise KeyboardInterrupt  # as if Ctrl-C struck while the job itself was running
        return "never"  # pragma: no cover

    with pytest.raises(KeyboardInterrupt):
        drive(job(), threading.Event())


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, make_image) -> None:
    root = tmp_path / "pics"
    for i in range(1200):
        make_image(root / f"{i:03d}.png", seed=i, size=(8, 8))
    lib = tmp_path / "lib.sqlite"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "animesion_desktop.cli", "--library", str(lib)]
    subprocess.run([*cmd, "scan", str(root)], check=True, capture_output=True, env=env)
    # The reader takes one line and closes the pipe while search is still printing (its JSON
    # is about 230 KB, far more than a pipe holds, so the writer is bound to meet the closed end).
    with subprocess.Popen([*cmd, "search", "--all", "--json"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait()
    assert first.strip() == b"["
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert code == 141
