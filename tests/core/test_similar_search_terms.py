"""``similar:ID`` (nearest first), ``fewshot:NAME`` / ``propagation:NAME`` in the search
language, and ``animesion label`` refreshing the few-shot head at once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from library_kit import add_images
from similar_kit import delete_images, embedded_library, store_embeddings

from animesion_desktop.cli import main
from animesion_desktop.core.library import Library
from animesion_desktop.core.search import QueryError, count, parse, search
from animesion_desktop.core.search.nodes import SimilarTerm, SuggestedTerm, to_text
from animesion_desktop.core.similar import suggestions
from animesion_desktop.core.similar.index import shared_index

DIM = 8


def line(n: int) -> np.ndarray:
    """Image i points further and further away from axis 0: a known nearest-first order."""
    v = np.zeros((n, DIM), dtype=np.float32)
    for i in range(n):
        v[i, 0] = 1.0
        v[i, 1] = 0.15 * i
    return v


@pytest.fixture
def lib(tmp_path: Path):
    (tmp_path / "pics").mkdir()
    with Library.open(tmp_path / "lib.sqlite") as library:
        yield library


def test_parse_similar_and_source_terms() -> None:
    assert parse("similar:42") == SimilarTerm(42)
    assert parse("fewshot:my_oc") == SuggestedTerm("my_oc", "fewshot")
    assert parse("propagation:*") == SuggestedTerm("*", "propagation")
    assert parse("suggested:x") == SuggestedTerm("x", None)
    assert to_text(parse("fewshot:my_oc -similar:3")) == "(fewshot:my_oc -similar:3)"
    with pytest.raises(QueryError) as got:
        parse("blue similar:abc")
    assert got.value.column == 14 and "similar: needs an image id" in got.value.reason
    with pytest.raises(QueryError) as got:
        parse("fewshot:")
    assert "fewshot: needs a name" in got.value.reason


def test_similar_is_ordered_by_score_and_follows_the_index(lib: Library, tmp_path: Path) -> None:
    vecs = line(8)
    root = lib.add_root(tmp_path / "pics")
    pack_id, ids = embedded_library(lib, root, vecs)
    far = np.zeros((1, DIM), dtype=np.float32)
    far[0, 2] = 1.0  # orthogonal to the rest: last
    (other,) = add_images(lib, root, [{}])
    store_embeddings(lib, pack_id, [other], far)
    query = f"similar:{ids[3]}"
    got = search(lib, query, limit=None)
    # itself first, then by closeness along the line, the orthogonal image last
    assert got.ids[0] == ids[3]
    assert got.ids[1:3] in ([ids[2], ids[4]], [ids[4], ids[2]])
    assert got.ids[-1] == other
    assert got.total == 9 and count(lib, query) == 9
    # the same answer with plain SQL, and pages are slices of that order
    assert search(lib, query, limit=None, index=False).ids == got.ids
    assert search(lib, query, limit=3, offset=2).ids == got.ids[2:5]
    # combined with other terms: still nearest first, filtered
    assert search(lib, f"{query} -path:*{ids[4]}.png", limit=None).ids == [
        i for i in got.ids if i != ids[4]]
    assert search(lib, f"-similar:{ids[3]}").ids == []  # 100 nearest: all nine here
    # an explicit order still wins
    assert search(lib, query, limit=None, order="oldest").ids == sorted(got.ids)
    # deletions reach the search through the index's log
    delete_images(lib, [ids[2]])
    assert ids[2] not in search(lib, query, limit=None).ids


def test_similar_without_an_embedding_names_the_term(lib: Library, tmp_path: Path) -> None:
    root = lib.add_root(tmp_path / "pics")
    _pack, ids = embedded_library(lib, root, line(3))
    (bare,) = add_images(lib, root, [{}])
    with pytest.raises(QueryError) as got:
        search(lib, f"blue similar:{bare}")
    assert got.value.column == 6
    assert f"image {bare} has no embedding of pack fake" in got.value.reason
    with pytest.raises(ValueError, match="needs a similar:ID term"):
        search(lib, "blue", order="similarity")


def test_fewshot_and_propagation_terms_select_their_source(lib: Library, tmp_path: Path) -> None:
    ids = add_images(lib, lib.add_root(tmp_path / "pics"), [{}, {}, {}])
    lib.write(lambda s: suggestions.replace(s, suggestions.FEWSHOT,
                                            [(ids[0], "character:my_oc", 0.9)]))
    lib.write(lambda s: suggestions.replace(s, suggestions.PROPAGATION,
                                            [(ids[1], "character:my_oc", 0.7)]))
    assert sorted(search(lib, "suggested:my_oc").ids) == [ids[0], ids[1]]
    assert search(lib, "fewshot:my_oc").ids == [ids[0]]
    assert search(lib, "propagation:my_*").ids == [ids[1]]
    assert search(lib, "fewshot:my_oc", index=False).ids == [ids[0]]
    lib.set_label([ids[0]], "character:my_oc", "rejected")  # decided: no longer suggested
    assert search(lib, "fewshot:*").ids == []


def test_label_command_refreshes_the_fewshot_head(tmp_path: Path, capsys) -> None:
    libpath = tmp_path / "lib.sqlite"
    (tmp_path / "pics").mkdir()
    rng = np.random.default_rng(0)
    near_a = np.zeros((3, DIM), dtype=np.float32)
    near_a[:, 0] = 1.0
    near_b = np.zeros((3, DIM), dtype=np.float32)
    near_b[:, 5] = 1.0
    vecs = np.concatenate([near_a, near_b]) + 0.05 * rng.standard_normal((6, DIM))
    with Library.open(libpath) as lib:
        root = lib.add_root(tmp_path / "pics")
        _pack, ids = embedded_library(lib, root, vecs.astype(np.float32))
        path = str(tmp_path / "pics" / "img" / f"{ids[0]}.png")  # library_kit's relpath
        assert lib.image_for_path(path) == ids[0]
        assert search(lib, "fewshot:*").ids == []
    assert main(["--library", str(libpath), "label", path, "-a", "character:hikari"]) == 0
    out = capsys.readouterr().out
    assert "labelled 1 image" in out and "few-shot head updated" in out
    with Library.open(libpath) as lib:
        # the unlabelled neighbours of the labelled image are suggested hikari, not the others
        assert sorted(search(lib, "fewshot:hikari", limit=None).ids) == [ids[1], ids[2]]
        rows = suggestions.list_suggestions(lib, suggestions.FEWSHOT)
        assert {r.image_id for r in rows} == {ids[1], ids[2]}
        assert all(r.tag == "character:hikari" and 0.5 <= r.score <= 1.0 for r in rows)
        assert lib.labels(ids[1]) == []  # a suggestion, never a label
    # a general tag does not touch the head (and says nothing about it)
    assert main(["--library", str(libpath), "label", path, "-a", "smile"]) == 0
    assert "few-shot" not in capsys.readouterr().out


def test_shared_index_is_one_per_pack_and_catches_up(lib: Library, tmp_path: Path) -> None:
    pack_id, ids = embedded_library(lib, lib.add_root(tmp_path / "pics"), line(4))
    first = shared_index(lib, pack_id)
    assert len(first) == 4
    (more,) = add_images(lib, 1, [{}])  # the one root
    store_embeddings(lib, pack_id, [more], line(1))
    again = shared_index(lib, pack_id)
    assert again is first and len(again) == 5 and again.rebuilds == 1


def test_search_json_orders_similar_nearest_first(tmp_path: Path, capsys) -> None:
    libpath = tmp_path / "lib.sqlite"
    (tmp_path / "pics").mkdir()
    with Library.open(libpath) as lib:
        _pack, ids = embedded_library(lib, lib.add_root(tmp_path / "pics"), line(5)[::-1].copy())
    assert main(["--library", str(libpath), "search", f"similar:{ids[4]}", "--json"]) == 0
    got = [row["image_id"] for row in json.loads(capsys.readouterr().out)]
    assert got == [ids[4], ids[3], ids[2], ids[1], ids[0]]


def test_the_grid_shows_a_similar_query_nearest_first() -> None:
    from animesion_desktop.core.search.neighbours import shown_order

    assert shown_order("similar:3 blue", "path") == "similarity"
    assert shown_order("blue (similar:3 | red)", "path") == "path"  # not a top-level term
    assert shown_order("blue", "oldest") == "oldest"
    assert shown_order("blue (", "oldest") == "oldest"  # the search reports the error
