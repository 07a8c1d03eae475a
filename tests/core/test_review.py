"""The review queue and decisions on a library with known character predictions."""

from __future__ import annotations

from pathlib import Path

import pytest
import tagging_kit as kit

from animesion_desktop.core.library import Library
from animesion_desktop.core.review import (
    UNKNOWN_CHARACTER,
    Decision,
    accept_above,
    build_queue,
    decide,
    preview_accept_above,
    review_item,
)


@pytest.fixture
def ids(lib: Library, tmp_path: Path) -> list[int]:
    ids = kit.colour_library(lib, tmp_path / "pics", ["red", "green", "blue", "dark", "red"])
    pack = kit.register_fake_pack(lib)
    kit.add_predictions(lib, pack.id, {
        ids[0]: {"character:alice": 0.9, "character:bob": 0.05},
        ids[1]: {"character:bob": 0.4, "character:alice": 0.3, "character:carol": 0.2},
        ids[2]: {"character:carol": 0.6, "character:dave": 0.3},
        ids[3]: {"red": 0.8},  # no character guess: never in the queue
        ids[4]: {"character:alice": 0.7, "character:erin": 0.2},
    })
    return ids


def test_queue_least_confident_first_and_grouped(lib: Library, ids: list[int]) -> None:
    assert build_queue(lib) == [ids[1], ids[2], ids[4], ids[0]]
    # grouped by the top guess (alice, bob, carol), each group least confident first
    assert build_queue(lib, order="character") == [ids[4], ids[0], ids[1], ids[2]]
    assert build_queue(lib, "path:*002*") == [ids[2]]
    assert build_queue(lib, "character:alice") == [ids[4], ids[0]]


def test_item_shows_top_candidates(lib: Library, ids: list[int]) -> None:
    item = review_item(lib, ids[1])
    assert item is not None
    assert [c.tag for c in item.candidates] == ["character:bob", "character:alice",
                                                "character:carol"]
    assert item.path.endswith("001_green.png")


def test_decisions_are_user_labels_and_leave_the_queue(lib: Library, ids: list[int]) -> None:
    cands = [c.tag for c in review_item(lib, ids[1]).candidates]
    changes = decide(lib, ids[1], Decision.PICK, cands, pick=1)
    assert ("character", "alice", "accepted", "user") in [lab[:4] for lab in lib.labels(ids[1])]
    assert ("character", "bob", "rejected", "user") in [lab[:4] for lab in lib.labels(ids[1])]
    assert ids[1] not in build_queue(lib)
    lib.undo(changes)
    assert lib.labels(ids[1]) == []
    assert ids[1] in build_queue(lib)


def test_none_of_these_rejects_all_and_marks_unknown(lib: Library, ids: list[int]) -> None:
    cands = [c.tag for c in review_item(lib, ids[2]).candidates]
    decide(lib, ids[2], Decision.NONE, cands)
    labels = {(c, n): st for c, n, st, _src, _at in lib.labels(ids[2])}
    assert labels == {("character", "carol"): "rejected", ("character", "dave"): "rejected",
                      ("meta", "unknown_character"): "accepted"}
    assert ("meta", "unknown_character") in lib.effective_tags(ids[2])
    assert UNKNOWN_CHARACTER == "meta:unknown_character"
    assert ids[2] not in build_queue(lib)


def test_batch_accept_above_is_one_undoable_step(lib: Library, ids: list[int]) -> None:
    preview = preview_accept_above(lib, "character:alice", 0.5)
    assert preview.count == 2
    assert [i for i, _ in preview.lowest] == [ids[4], ids[0]]
    assert preview_accept_above(lib, "alice", 0.8).count == 1  # bare names mean characters
    changes = accept_above(lib, "character:alice", 0.5)
    assert {c.image_id for c in changes} == {ids[0], ids[4]}
    assert build_queue(lib) == [ids[1], ids[2]]
    assert preview_accept_above(lib, "character:alice", 0.5).count == 0  # decided ones are out
    lib.undo(changes)
    assert build_queue(lib) == [ids[1], ids[2], ids[4], ids[0]]


def test_a_model_run_never_overwrites_a_decision(lib: Library, ids: list[int]) -> None:
    decide(lib, ids[0], Decision.REJECT, ["character:alice"])
    pack_id = kit.register_fake_pack(lib, "second").id
    kit.add_predictions(lib, pack_id, {ids[0]: {"character:alice": 0.99}})
    assert ("character", "alice") not in lib.effective_tags(ids[0])
    assert [lab[2] for lab in lib.labels(ids[0])] == ["rejected"]
