"""Running ``animesion-train`` as a separate process (the app never imports training) and
streaming what it says: its output lines as they come, and the records of its log.jsonl.

The child runs in its own session, so a Ctrl-C meant for us reaches us only; cancelling (or the
job being closed for any reason) terminates it, then kills it if it does not stop.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from animesion_desktop.core.errors import UserError
from animesion_desktop.core.jobs import Job, Progress

TICK = 0.5
STOP_GRACE = 10.0


class ChildError(UserError):
    """The child process failed; the message carries its last error line."""


def _pump(stream: TextIO, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class LogTail:
    """New records of a JSONL file that another process is appending to."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next tick
        self.offset += end
        out = []
        for line in data[:end].splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


def run_child(
    cmd: Sequence[str],
    cancel: threading.Event,
    *,
    stage: str,
    total_seconds: float | None = None,
    log: Path | None = None,
    describe: Callable[[dict[str, Any]], str] | None = None,
) -> Job[list[str]]:
    """Run ``cmd``; yields Progress (seconds elapsed of ``total_seconds``) with the child's last
    line or newest log record; returns its output lines. Raises ChildError on failure; returns
    early (the child stopped) when ``cancel`` is set."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        encoding="utf-8", errors="replace", env=env, start_new_session=True,
    )
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
    reader.start()
    output: list[str] = []
    tail = LogTail(log) if log is not None else None
    start = time.monotonic()
    message, extra = "", {}
    try:
        done = False
        while not done:
            if cancel.is_set():
                stop(proc)
                return output
            try:
                line = lines.get(timeout=TICK)
                if line is None:
                    done = True
                else:
                    output.append(line)
                    message = line
            except queue.Empty:
                pass
            if tail is not None:
                for record in tail.read():
                    extra = record
                    if describe is not None:
                        message = describe(record)
            elapsed = time.monotonic() - start
            shown = int(min(elapsed, total_seconds)) if total_seconds else int(elapsed)
            yield Progress(stage, shown, int(total_seconds) if total_seconds else None, message,
                           {**extra, "pid": proc.pid})
        code = proc.wait()
    finally:
        stop(proc)  # closed early (an exception, Ctrl-C inside the job): never leave it running
        reader.join(timeout=1)
    if code != 0:
        errors = [ln for ln in output if ln.startswith("error:")] or output[-1:] or [f"exit status {code}"]
        raise ChildError(f"{cmd[3] if len(cmd) > 3 else cmd[0]} failed: {errors[-1]}")
    return output
