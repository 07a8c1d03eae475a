"""The general-tag review queue: undecided claims, least confident first, paged by keyset."""

from __future__ import annotations

from pathlib import Path

import pytest
import tagging_kit as kit

from animesion_desktop.core.library import Library
from animesion_desktop.core.review import Decision, TagQueue, decide


@pytest.fixture
def ids(lib: Library, tmp_path: Path) -> list[int]:
    ids = kit.colour_library(lib, tmp_path / "pics", ["red", "green", "blue", "dark", "red"])
    pack = kit.register_fake_pack(lib)  # general thresholds 0.5
    kit.add_predictions(lib, pack.id, {
        ids[0]: {"character:alice": 0.9, "red": 0.8, "dark": 0.51},
        ids[1]: {"green": 0.6, "blue": 0.2},
        ids[2]: {"blue": 0.45},  # under the threshold: not claimed, not in the queue
        ids[3]: {"red": 0.7},
        ids[4]: {"red": 0.55},
    })
    return ids


def entries(queue: TagQueue, limit: int = 100) -> list[tuple[int, str]]:
    return [(e.image_id, e.name) for e in queue.page(limit=limit)]


def test_claims_least_confident_first(lib: Library, ids: list[int]) -> None:
    queue = TagQueue(lib)
    assert entries(queue) == [(ids[0], "dark"), (ids[4], "red"), (ids[1], "green"),
                              (ids[3], "red"), (ids[0], "red")]
    assert queue.count() == 5
    first = queue.page(limit=1)[0]
    assert first.tag == "general:dark" and first.score == pytest.approx(0.51)
    assert first.margin == pytest.approx(0.01)
    assert first.path.endswith("000_red.png") and first.hash


def test_a_search_query_narrows_the_queue(lib: Library, ids: list[int]) -> None:
    assert entries(TagQueue(lib, "path:*003*")) == [(ids[3], "red")]
    assert TagQueue(lib, "green").count() == 1
    assert entries(TagQueue(lib, "character:alice")) == [(ids[0], "dark"), (ids[0], "red")]
    assert entries(TagQueue(lib, "character:nobody")) == []


def test_decisions_leave_the_queue_and_pages_do_not_shift(lib: Library, ids: list[int]) -> None:
    queue = TagQueue(lib)
    page = queue.page(limit=2)
    assert [(e.image_id, e.name) for e in page] == [(ids[0], "dark"), (ids[4], "red")]
    # decided meanwhile: the first entry (shown) and one further on (not shown yet)
    decide(lib, ids[0], Decision.ACCEPT, ["general:dark"])
    decide(lib, ids[3], Decision.REJECT, ["general:red"])
    rest = [(e.image_id, e.name) for e in queue.page(page[-1], limit=10)]
    assert rest == [(ids[1], "green"), (ids[0], "red")]
    assert queue.count() == 3
    assert ("general", "red") not in lib.effective_tags(ids[3])


def test_labels_of_any_source_count_as_decided(lib: Library, ids: list[int]) -> None:
    lib.set_label([ids[1]], "green", "accepted", source="import:csv")
    assert (ids[1], "green") not in entries(TagQueue(lib))


def test_thresholds_and_active_packs_decide_what_is_claimed(lib: Library, ids: list[int]) -> None:
    lib.set_threshold("fake", "general:blue", 0.4)  # at read time: blue 0.45 is now a claim
    assert (ids[2], "blue") in entries(TagQueue(lib))
    lib.set_pack_active("fake", False)
    assert TagQueue(lib).count() == 0
