"""Issue 8 m: on Linux without Qt's xcb libraries, `animesion` says which ones and how to
install them, in one line, instead of letting Qt abort. The loader is faked: the test does not
depend on what this machine has installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from animesion_desktop.cli import main
from animesion_desktop.commands import qt_check
from animesion_desktop.commands.qt_check import INSTALL_COMMAND, missing_xcb_libraries

ALL = ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


def loader(missing: set[str]):
    tried: list[str] = []

    def load(soname: str) -> bool:
        tried.append(soname)
        return soname not in missing

    load.tried = tried  # type: ignore[attr-defined]
    return load


def test_detection_names_exactly_the_libraries_that_do_not_load() -> None:
    x11 = {"DISPLAY": ":0"}
    assert missing_xcb_libraries(x11, "linux", loader(set())) == []
    assert missing_xcb_libraries(x11, "linux", loader({ALL[0], ALL[2]})) == [ALL[0], ALL[2]]
    assert missing_xcb_libraries({**x11, "QT_QPA_PLATFORM": "xcb"}, "linux",
                                 loader(set(ALL))) == ALL
    assert missing_xcb_libraries({**x11, "QT_QPA_PLATFORM": "xcb;wayland"}, "linux",
                                 loader({ALL[1]})) == [ALL[1]]


@pytest.mark.parametrize("env, platform", [
    ({}, "linux"),  # no display: Qt would not use xcb (the demo prints a search instead)
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}, "linux"),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux"),  # Qt prefers Wayland there
    ({"DISPLAY": ":0"}, "darwin"),
    ({"DISPLAY": ":0"}, "win32"),
])
def test_no_check_where_qt_would_not_use_xcb(env, platform) -> None:
    load = loader(set(ALL))
    assert missing_xcb_libraries(env, platform, load) == []
    assert load.tried == []


def test_the_gui_command_stops_with_one_line_before_qt_starts(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(qt_check.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(qt_check, "can_load", loader({ALL[0], ALL[1]}))

    def no_qt(*_args: object) -> int:
        raise AssertionError("the app was started")

    import animesion_desktop.ui.app as app

    monkeypatch.setattr(app, "run", no_qt)
    assert main(["--library", str(tmp_path / "lib.sqlite"), "gui"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("animesion: error: ")
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in err and "keysyms" not in err.split("`")[0]
    assert f"`{INSTALL_COMMAND}`" in err
    assert INSTALL_COMMAND == "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
