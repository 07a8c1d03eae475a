"""The device a setting implies, found in a child process (so the app's interpreter never
imports torch just to show it)."""

from __future__ import annotations

from models import device_probe


def test_the_child_answers_as_the_in_process_probe_does() -> None:
    for setting in ("auto", "cpu", "cuda"):
        assert device_probe._ask_child(setting) == device_probe._probe(setting)
    assert device_probe._probe("cpu") == ("cpu", None)
    assert device_probe._probe("cuda:7")[0].endswith("(unavailable)")  # no such GPU here


def test_a_failing_child_is_one_clear_error(monkeypatch) -> None:
    monkeypatch.setattr(device_probe.sys, "executable", "/bin/false")
    try:
        device_probe._ask_child("auto")
    except RuntimeError as exc:
        assert str(exc) == "finding the device failed: exit status 1"
    else:
        raise AssertionError("no error")
