"""Shared fixtures: tiny synthetic data sets written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.synthetic import SyntheticSpec, write_dataset


@pytest.fixture(scope="session")
def toy_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 characters x 12 images of 32 px in the library export format."""
    root = tmp_path_factory.mktemp("toy") / "export"
    return write_dataset(root, SyntheticSpec(n_characters=6, per_character=12, size=32, seed=3))
