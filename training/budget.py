"""--max-minutes: when to stop, and how far the cosine schedule should reach."""

from __future__ import annotations

import time


class TimeBudget:
    """Wall-clock budget of a whole run (setup, training, validations, checkpoints)."""

    def __init__(self, minutes: float | None, start: float):
        self.seconds = minutes * 60.0 if minutes else None
        self.start = start

    @property
    def enabled(self) -> bool:
        return self.seconds is not None

    def used(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return (self.seconds or 0.0) - self.used()

    def out_of_time(self, per_step: float, reserve: float) -> bool:
        """True when one more step plus `reserve` (the validation and checkpoint that follow,
        and a few seconds of slack) would not fit any more."""
        return self.enabled and per_step + reserve + 5.0 > self.left()

    def steps_that_fit(self, step: int, per_step: float, safety: float) -> int:
        """The step at which the budget will run out, at `per_step` seconds a step."""
        return step + int(max(0.0, self.left()) / max(per_step, 1e-9) * safety)
