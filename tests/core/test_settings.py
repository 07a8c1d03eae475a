"""Settings: typed, versioned, upgraded, bad values reported, beside a named library."""

from __future__ import annotations

import json
from pathlib import Path

from animesion_desktop.core import settings as st
from animesion_desktop.core.paths import resolve_location


def test_defaults_round_trip_and_stay_beside_a_named_library(tmp_path: Path) -> None:
    config = resolve_location(tmp_path / "lib.sqlite").config_dir
    assert config == tmp_path / "lib.d" / "config"
    s, problems = st.load(config)
    assert (s, problems) == (st.Settings(), [])
    s.thumbnail_size, s.watching, s.splitters = 200, False, {"main": "AAA="}
    st.save(config, s)
    again, problems = st.load(config)
    assert problems == [] and again == s
    assert json.loads((config / "settings.json").read_text())["version"] == st.VERSION


def test_version_1_is_upgraded(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps(
        {"version": 1, "thumb": 128, "splitter": "BBB=", "device": "cpu"}))
    s, problems = st.load(tmp_path)
    assert problems == []
    assert (s.thumbnail_size, s.splitters, s.device, s.version) == (128, {"main": "BBB="},
                                                                   "cpu", st.VERSION)


def test_bad_values_fall_back_with_one_line_each(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps(
        {"version": 2, "thumbnail_size": 9000, "device": "tpu", "watching": "yes"}))
    s, problems = st.load(tmp_path)
    assert (s.thumbnail_size, s.device, s.watching) == (160, "auto", True)
    assert len(problems) == 3 and all(p.startswith(str(tmp_path)) for p in problems)
    assert any("device: expected one of auto, cpu, cuda, mps, got 'tpu'" in p for p in problems)


def test_broken_file_and_newer_keys(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{not json")
    s, problems = st.load(tmp_path)
    assert s == st.Settings() and "unreadable" in problems[0]
    (tmp_path / "settings.json").write_text(json.dumps({"version": 7, "future": 1}))
    s, problems = st.load(tmp_path)
    assert problems == [] and s.version == 7
    st.save(tmp_path, s)
    assert json.loads((tmp_path / "settings.json").read_text())["future"] == 1
