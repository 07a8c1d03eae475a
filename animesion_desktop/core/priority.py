"""Background threads that give way: decoding for a scan or a tagging run runs nicer than the
threads that must not wait (the inference thread that owns the model, the GUI thread).

Linux gives each thread its own nice value, so one call on the thread itself is enough; elsewhere
nothing changes (``PRIO_PROCESS`` would renice the whole process there).
"""

from __future__ import annotations

import os
import sys
import threading

# With the model on one thread of two cores, nicer decode threads took tagging from 0.84 to
# 0.92 of the model's own speed; the work itself is unchanged, only who waits.
BACKGROUND_NICENESS = 5


def lower_thread_priority(by: int = BACKGROUND_NICENESS) -> bool:
    """Make the calling thread nicer by ``by``; False where threads have no priority of their
    own or the system refuses (nothing else changes then)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
    except (AttributeError, OSError):
        return False
    return True


def background_thread_priority(by: int = BACKGROUND_NICENESS) -> bool:
    """Make the calling thread at least ``by`` nicer than the main thread (for pooled threads
    that run one background job after another: an absolute level, so it never accumulates, and
    never raised back, which an unprivileged process may not do). Threads it starts inherit it."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + by)  # pid = main thread
        if os.getpriority(os.PRIO_PROCESS, tid) < target:
            os.setpriority(os.PRIO_PROCESS, tid, target)
    except (AttributeError, OSError):
        return False
    return True
