"""What every long core job yields, so the CLI, the GUI and tests drive them the same way.

A job is a generator function taking a ``threading.Event`` (cancel) and yielding
:class:`Progress`; its return value (``StopIteration.value``) is its summary. Work already
recorded when a job is cancelled or killed stays recorded: jobs commit in batches.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class Progress:
    stage: str  # "listing", "hashing", "tagging", ...
    done: int
    total: int | None = None  # None while the total is still unknown
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Job = Generator[Progress, None, R]


def run_to_end(job: Job[R]) -> R:
    """Drive a job without showing progress (tests, scripts)."""
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def never_cancelled() -> threading.Event:
    return threading.Event()
