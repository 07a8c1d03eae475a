"""core.tag_options: the app's tag jobs (including a folder added and tagged in one pass) run
with the device and precision the settings hold; a precision no backend has is not a choice."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import tagging_kit as kit
from PIL import Image

from animesion_desktop.core import settings as st
from animesion_desktop.core.indexing import index_and_tag
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.tag_options import options_from, tag_options
from animesion_desktop.core.tagging import packs_registry as registry
from models.precision import PRECISIONS


def test_settings_offer_exactly_the_precisions_the_models_accept(tmp_path: Path) -> None:
    assert st.PRECISIONS == PRECISIONS
    # fp16 is a choice again (CUDA autocast): a file that has it keeps it
    (tmp_path / "settings.json").write_text(json.dumps({"version": 2, "precision": "fp16"}))
    s, problems = st.load(tmp_path)
    assert s.precision == "fp16" and not problems
    # a value no tag job accepts falls back to auto
    (tmp_path / "settings.json").write_text(json.dumps({"version": 2, "precision": "fp8"}))
    s, problems = st.load(tmp_path)
    assert s.precision == "auto"
    assert problems and ("precision: expected one of auto, fp32, int8, bf16, fp16, got 'fp8'"
                         in problems[0])


def _precision_choices(parser: argparse.ArgumentParser, *path: str) -> tuple[str, ...]:
    for name in path:  # down the sub-commands
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    (action,) = [a for a in parser._actions if "--precision" in a.option_strings]
    return tuple(action.choices or ())


def test_command_lines_offer_exactly_the_precisions_the_models_accept() -> None:
    from animesion_desktop.cli import build_parser as app_parser
    from training.cli import build_parser as train_parser

    assert _precision_choices(app_parser(), "tag") == PRECISIONS
    assert _precision_choices(app_parser(), "scan") == PRECISIONS
    assert _precision_choices(train_parser(), "evaluate") == PRECISIONS
    assert _precision_choices(train_parser(), "infer") == PRECISIONS


def test_options_follow_the_saved_settings(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib.sqlite")
    try:
        assert tag_options(lib) == {"device": None, "precision": "auto"}  # nothing saved yet
        st.save(lib.location.config_dir, st.Settings(device="cpu", precision="int8"))
        assert tag_options(lib) == {"device": "cpu", "precision": "int8"}
    finally:
        lib.close()
    assert options_from(st.Settings(device="auto", precision="bf16")) == {
        "device": None, "precision": "bf16"}


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_one_pass_add_runs_the_settings_precision(tmp_path: Path, precision: str) -> None:
    pics = tmp_path / "pics"
    pics.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        Image.fromarray(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)).save(
            pics / f"{i:02d}.png")
    lib = Library.open(tmp_path / "lib.sqlite")
    try:
        registry.install(lib, kit.write_real_pack(tmp_path / "tiny"))
        st.save(lib.location.config_dir, st.Settings(device="cpu", precision=precision))
        summary = run_to_end(index_and_tag(lib, [pics], threading.Event(),
                                           **tag_options(lib)))
        (run,) = summary.tags.runs
        assert run.tagged == 20
        if precision == "fp32":
            assert run.precision == "fp32" and run.agreement is None
            assert run.status == "CPU · fp32"
        else:  # auto measured the fast path against fp32 on these images
            assert run.agreement and run.agreement[0]["images"] == 20
            assert run.status == f"CPU · {run.precision}"
            assert run.precision == ("int8" if run.agreement[0]["passed"] else "fp32")
    finally:
        lib.close()
