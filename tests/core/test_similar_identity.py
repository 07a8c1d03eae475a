"""The few-shot head goes through the pack's identity adapter, and only for that pack's weights."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from library_kit import add_images
from similar_kit import store_embeddings
from tagging_kit import register_fake_pack

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.similar import fewshot, suggestions
from models.identity import FILE_NAME, IdentityAdapter, IdentityInfo

DIM = 4


def drop_axis_one(sha: str) -> IdentityAdapter:
    """A hand-set adapter that removes coordinate 1: relu(x1) - relu(-x1) = x1, subtracted."""
    u = np.zeros((DIM, 2), dtype=np.float32)
    u[1] = [1.0, -1.0]
    v = np.zeros((2, DIM), dtype=np.float32)
    v[:, 1] = [-1.0, 1.0]
    info = IdentityInfo(input_dim=DIM, hidden=2, features="pack", pack_name="fake",
                        pack_sha256=sha)
    return IdentityAdapter(info, u, np.zeros(2, dtype=np.float32), v)


@pytest.fixture
def world(tmp_path: Path):
    """Characters p and q differ a little along axis 0; a pose-like nuisance along axis 1 is
    four times larger, so plain cosines group pictures by pose, not by who they show."""
    rng = np.random.default_rng(0)
    (tmp_path / "pics").mkdir()
    with Library.open(tmp_path / "lib.sqlite") as lib:
        root = lib.add_root(tmp_path / "pics")
        pack = register_fake_pack(lib)
        ids, vecs, who = [], [], []
        for name, sign in (("p", 1.0), ("q", -1.0)):
            x = np.zeros((12, DIM), dtype=np.float32)
            x[:, 0] = 0.25 * sign
            x[:, 1] = rng.choice([-1.0, 1.0], 12)
            x[:, 2] = 1.0
            x += 0.02 * rng.standard_normal(x.shape).astype(np.float32)
            ids += add_images(lib, root, [{} for _ in x])
            vecs.append(x)
            who += [name] * 12
        store_embeddings(lib, pack.id, ids, np.concatenate(vecs).astype(np.float16))
        # one labelled picture each, in opposite poses
        first_p = next(i for i, w, v in zip(ids, who, np.concatenate(vecs), strict=True)
                       if w == "p" and v[1] > 0)
        first_q = next(i for i, w, v in zip(ids, who, np.concatenate(vecs), strict=True)
                       if w == "q" and v[1] < 0)
        lib.set_label([first_p], "character:p", "accepted")
        lib.set_label([first_q], "character:q", "accepted")
        yield lib, pack, dict(zip(ids, who, strict=True)), (first_p, first_q)


def accuracy(lib: Library, who: dict[int, str], labelled: tuple[int, int]) -> float:
    got = {s.image_id: s.tag for s in suggestions.list_suggestions(lib, suggestions.FEWSHOT)}
    rest = [i for i in who if i not in labelled]
    return float(np.mean([got.get(i) == f"character:{who[i]}" for i in rest]))


def test_the_pack_adapter_is_applied_and_fixes_recognition(world) -> None:
    lib, pack, who, labelled = world
    run_to_end(fewshot.update(lib, pack.id, whiten=False, min_confidence=0.0, min_cosine=0.0))
    without = accuracy(lib, who, labelled)
    drop_axis_one("0" * 64).save(pack.path / FILE_NAME)  # the fake pack's recorded sha256
    head = fewshot.build_head(lib, pack.id, whiten=False)
    assert head is not None and head.adapter is not None
    run_to_end(fewshot.update(lib, pack.id, whiten=False, min_confidence=0.0, min_cosine=0.0))
    assert accuracy(lib, who, labelled) == 1.0
    assert without < 0.7  # by pose, plain cosines get about half of them wrong
    off = fewshot.build_head(lib, pack.id, whiten=False, identity=False)
    assert off is not None and off.adapter is None


def test_an_adapter_for_other_weights_or_a_broken_file_is_not_used(world, caplog) -> None:
    lib, pack, _who, _labelled = world
    drop_axis_one("f" * 64).save(pack.path / FILE_NAME)
    with caplog.at_level(logging.WARNING):
        head = fewshot.build_head(lib, pack.id)
    assert head is not None and head.adapter is None
    assert "pack_sha256" in caplog.text and FILE_NAME in caplog.text
    caplog.clear()
    (pack.path / FILE_NAME).write_bytes(b"\x00" * 10)
    with caplog.at_level(logging.WARNING):
        head = fewshot.build_head(lib, pack.id)
    assert head is not None and head.adapter is None
    assert "not a readable safetensors file" in caplog.text
