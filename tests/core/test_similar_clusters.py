"""Clusters of unknown characters, naming them (labels + propagation suggestions, never labels
for the proposed images), and the few-shot prototype head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from library_kit import add_images
from similar_kit import store_embeddings
from tagging_kit import register_fake_pack

from animesion_desktop.cli import main
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library, LibraryError
from animesion_desktop.core.similar import clusters, fewshot, suggestions

DIM = 16


def around(axis: int, n: int, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    v = np.zeros((n, DIM), dtype=np.float32)
    v[:, axis] = 1.0
    return v + noise * rng.standard_normal((n, DIM)).astype(np.float32)


@pytest.fixture
def world(tmp_path: Path):
    """Five unknown images near axis 0, three near axis 1, one alone on axis 2, and four known
    ones (character:alice, an import) near axis 3."""
    rng = np.random.default_rng(0)
    (tmp_path / "pics").mkdir()
    libpath = tmp_path / "lib.sqlite"
    with Library.open(libpath) as lib:
        root = lib.add_root(tmp_path / "pics")
        pack_id = register_fake_pack(lib).id
        groups = {"a": around(0, 5, rng), "b": around(1, 3, rng), "lone": around(2, 1, rng),
                  "known": around(3, 4, rng)}
        ids = {}
        for key, vecs in groups.items():
            tags = ["character:alice"] if key == "known" else []
            ids[key] = add_images(lib, root, [{"tags": tags} for _ in vecs])
            store_embeddings(lib, pack_id, ids[key], vecs.astype(np.float16))
        yield lib, pack_id, ids, libpath


def test_only_unknown_images_are_clustered_largest_first(world) -> None:
    lib, pack_id, ids, _ = world
    assert set(clusters.unknown_images(lib, pack_id)) == set(ids["a"] + ids["b"] + ids["lone"])
    found = run_to_end(clusters.cluster_unknowns(lib, pack_id))
    assert [sorted(c.image_ids) for c in found] == [sorted(ids["a"]), sorted(ids["b"])]
    assert [c.size for c in clusters.list_clusters(lib)] == [5, 3]  # stored, same order
    # reclustering replaces the stored result
    run_to_end(clusters.cluster_unknowns(lib, pack_id, min_size=1))
    assert [c.size for c in clusters.list_clusters(lib)] == [5, 3, 1]


def test_naming_labels_the_chosen_images_and_only_proposes_the_rest(world) -> None:
    lib, pack_id, ids, _ = world
    first = run_to_end(clusters.cluster_unknowns(lib, pack_id))[0]
    chosen = ids["a"][:2]
    result = clusters.name_cluster(lib, first.id, "my_oc", chosen)
    assert result.labelled == chosen
    for i in chosen:
        assert lib.labels(i) == [("character", "my_oc", "accepted", "user",
                                  lib.labels(i)[0][4])]
    proposed = {s.image_id for s in result.proposed}
    assert set(ids["a"][2:]) <= proposed  # the rest of the cluster, nearest first
    assert not proposed & set(ids["known"] + ids["b"])  # far images are not proposed
    assert all(s.source == "propagation" and s.tag == "character:my_oc" for s in result.proposed)
    for i in ids["a"][2:]:  # proposals are not decisions and not effective tags
        assert lib.labels(i) == []
        assert ("character", "my_oc") not in lib.effective_tags(i)
    listed = suggestions.list_suggestions(lib, suggestions.PROPAGATION)
    assert {s.image_id for s in listed} == proposed
    guessed = suggestions.list_suggestions(lib, suggestions.FEWSHOT)  # the head followed at once
    assert {s.image_id for s in guessed if s.tag == "character:my_oc"} == set(ids["a"][2:])
    # accepting one (a decision) takes it off the list
    lib.set_label([ids["a"][2]], "character:my_oc", "accepted")
    assert ids["a"][2] not in {s.image_id for s in suggestions.list_suggestions(lib)}


def test_naming_refuses_images_outside_the_cluster(world) -> None:
    lib, pack_id, ids, _ = world
    first = run_to_end(clusters.cluster_unknowns(lib, pack_id))[0]
    with pytest.raises(LibraryError, match="not in cluster"):
        clusters.name_cluster(lib, first.id, "x", [ids["b"][0]])
    with pytest.raises(LibraryError, match="no cluster 999"):
        clusters.name_cluster(lib, 999, "x")


def test_fewshot_head_follows_label_changes(world) -> None:
    lib, pack_id, ids, _ = world
    run_to_end(fewshot.update(lib, pack_id))
    # only alice is known: the head proposes alice for nothing far from her
    assert not {s.image_id for s in suggestions.list_suggestions(lib, suggestions.FEWSHOT)} & set(
        ids["a"])
    lib.set_label(ids["a"][:1], "character:my_oc", "accepted")
    lib.set_label(ids["b"][:1], "character:bea", "accepted")
    n = run_to_end(fewshot.update(lib, pack_id))
    got = {s.image_id: s for s in suggestions.list_suggestions(lib, suggestions.FEWSHOT)}
    assert n == len(got)
    assert all(got[i].tag == "character:my_oc" and got[i].score > 0.5 for i in ids["a"][1:])
    assert all(got[i].tag == "character:bea" for i in ids["b"][1:])
    assert ids["a"][0] not in got and ids["known"][0] not in got  # decided images: no guess
    assert lib.labels(ids["a"][1]) == []


def test_whitening_helps_when_a_nuisance_direction_dominates() -> None:
    rng = np.random.default_rng(3)
    n, dim = 40, 8
    labels = np.repeat(["p", "q"], n)
    x = rng.normal(0, 0.05, (2 * n, dim)).astype(np.float32)
    x[:n, 0] += 1.0  # identities differ along axis 0 ...
    x[n:, 0] -= 1.0
    x[:, 1] += rng.normal(0, 4.0, 2 * n)  # ... pose varies four times as much along axis 1
    x[:, 2] += 1.0
    support = np.zeros(2 * n, dtype=bool)
    support[[0, 1, 2, 3, 4, n, n + 1, n + 2, n + 3, n + 4]] = True

    def accuracy(whiten: bool) -> float:
        head = fewshot.from_examples(x[support], labels[support].tolist(), whiten=whiten)
        best, _, _ = head.predict(x[~support])
        return float(np.mean(np.asarray(head.tags)[best] == labels[~support]))

    assert accuracy(True) > accuracy(False) + 0.1


def test_clusters_command(world, capsys) -> None:
    lib, pack_id, ids, libpath = world
    lib.close()
    base = ["--library", str(libpath), "clusters"]
    assert main([*base, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["size"] for c in listed] == [5, 3]
    first = listed[0]["cluster"]
    assert main([*base, "name", str(first), "my_oc"]) == 0
    assert "labelled 5 image(s)" in capsys.readouterr().out
    assert main([*base, "--json", "suggestions", "--source", "propagation"]) == 0
    assert all(s["tag"] == "character:my_oc" for s in json.loads(capsys.readouterr().out))
    assert main([*base, "fewshot"]) == 0
    assert "few-shot suggestion(s)" in capsys.readouterr().out
    assert main([*base, "name", "999", "x"]) == 2
    assert "no cluster 999" in capsys.readouterr().err
    assert main([*base, "--min-size", "0"]) == 2


def test_suggestions_are_searchable_until_decided(world) -> None:
    from animesion_desktop.core.search import search

    lib, pack_id, ids, _ = world
    first = run_to_end(clusters.cluster_unknowns(lib, pack_id))[0]
    clusters.name_cluster(lib, first.id, "my_oc", ids["a"][:2])
    assert set(search(lib, "suggested:my_oc", limit=None).ids) == set(ids["a"][2:])
    assert set(search(lib, "suggested:my_*", limit=None).ids) == set(ids["a"][2:])
    assert set(search(lib, "character:my_oc", limit=None).ids) == set(ids["a"][:2])
    lib.set_label(ids["a"][2:3], "character:my_oc", "rejected")
    assert set(search(lib, "suggested:my_oc", limit=None).ids) == set(ids["a"][3:])
