"""Before Qt starts: would its X11 (xcb) platform plugin load on this Linux machine?

Without a few system libraries Qt aborts with its own long "could not load the Qt platform
plugin" message, which names neither the libraries nor the fix. We look for them first and
say both in one line. Checked only where Qt would use xcb: Linux, an X display, and
``QT_QPA_PLATFORM`` unset (without a Wayland session, where Qt prefers Wayland) or ``xcb``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

# (shared object the xcb plugin links, Debian/Ubuntu package that ships it)
XCB_LIBRARIES = (
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
)
INSTALL_COMMAND = "sudo apt-get install " + " ".join(pkg for _, pkg in XCB_LIBRARIES)


def can_load(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_xcb_libraries(
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
    load: Callable[[str], bool] | None = None,
) -> list[str]:
    """The shared objects Qt's xcb plugin needs that cannot be loaded here; [] if Qt will not
    use xcb or all of them load."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    load = can_load if load is None else load
    if not platform.startswith("linux") or not env.get("DISPLAY"):
        return []
    qpa = env.get("QT_QPA_PLATFORM", "").strip()
    if qpa:
        # a list such as "wayland;xcb" means: the first that works
        if qpa.split(";")[0].split(":")[0] != "xcb":
            return []
    elif env.get("WAYLAND_DISPLAY"):
        return []
    return [soname for soname, _pkg in XCB_LIBRARIES if not load(soname)]


def xcb_problem(
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
    load: Callable[[str], bool] | None = None,
) -> str | None:
    """One line for the user if the window cannot open for want of libraries, else None."""
    missing = missing_xcb_libraries(env, platform, load)
    if not missing:
        return None
    return (f"the window cannot open: Qt's X11 plugin needs {', '.join(missing)}, which "
            f"this system lacks; install them with `{INSTALL_COMMAND}` (or run a command, "
            "e.g. `animesion search`, without the window)")
