"""Named points where a kill -9 test stops a real process at a known moment.

When ``ANIMESION_PAUSE_AT`` names the point reached, the process writes the file named by
``ANIMESION_PAUSE_FILE`` (so the test knows it is there) and sleeps until it is killed. This
makes "killed in the middle of X" deterministic without timing. Outside such tests the variable
is unset and a point costs one environment lookup.
"""

from __future__ import annotations

import os
import time


def pause_point(name: str) -> None:
    if os.environ.get("ANIMESION_PAUSE_AT") != name:
        return
    marker = os.environ.get("ANIMESION_PAUSE_FILE")
    if marker:
        with open(marker, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {name}\n")
    while True:  # until the test kills us
        time.sleep(3600)
