"""The similar index answers like brute force and stays current through adds, re-tags and
deletions, reading only the embedding log (no rebuild) on each refresh."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from similar_kit import delete_images, embedded_library, store_embeddings

from animesion_desktop.core.library import Library, LibraryError, files
from animesion_desktop.core.similar import vectors
from animesion_desktop.core.similar.index import SimilarIndex, default_pack


@pytest.fixture
def lib(tmp_path: Path):
    (tmp_path / "pics").mkdir()
    with Library.open(tmp_path / "lib.db") as library:
        yield library


def brute(vecs: np.ndarray, ids: list[int], q: np.ndarray, k: int) -> list[int]:
    x = vectors.normalize(vecs)
    order = np.argsort(-(x @ vectors.normalize(q)), kind="stable")[:k]
    return [ids[i] for i in order]


def test_neighbours_match_brute_force_and_skip_the_query(lib: Library, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((60, 16)).astype(np.float16)
    pack_id, ids = embedded_library(lib, lib.add_root(tmp_path / "pics"), vecs)
    index = SimilarIndex(lib, pack_id)
    index.refresh()
    got = index.similar_to([ids[0]], k=5)
    want = brute(vecs.astype(np.float32), ids, vecs[0].astype(np.float32), 6)[1:]
    assert [n.image_id for n in got] == want
    assert ids[0] not in [n.image_id for n in got]
    assert all(-1.0 <= n.score <= 1.0 for n in got)
    assert got[0].score >= got[-1].score


def test_index_follows_adds_retags_and_deletions(lib: Library, tmp_path: Path) -> None:
    root = lib.add_root(tmp_path / "pics")
    base = np.eye(8, dtype=np.float16)[:4]  # four images along axes 0..3
    pack_id, ids = embedded_library(lib, root, base)
    index = SimilarIndex(lib, pack_id)
    index.refresh()
    assert len(index) == 4 and index.rebuilds == 1
    probe = np.eye(8, dtype=np.float32)[5]
    assert index.search(probe, 1)[0].score == pytest.approx(0.0)

    # add: a new image along axis 5 lands through a tagging batch
    from library_kit import add_images
    [new] = add_images(lib, root, [{}])
    store_embeddings(lib, pack_id, [new], np.eye(8, dtype=np.float16)[5:6])
    index.refresh()
    assert index.search(probe, 1)[0].image_id == new
    # re-tag: image 0's vector is replaced (the pack ran again); its old direction is gone
    store_embeddings(lib, pack_id, [ids[0]], np.eye(8, dtype=np.float16)[6:7])
    index.refresh()
    top = index.search(np.eye(8, dtype=np.float32)[6], 1)[0]
    assert top.image_id == ids[0] and top.score == pytest.approx(1.0)
    assert index.search(np.eye(8, dtype=np.float32)[0], 1)[0].score == pytest.approx(0.0)
    # deletions: the image row goes (scan cleanup), its embedding goes with it by cascade
    delete_images(lib, [new])
    index.refresh()
    assert len(index) == 4
    assert new not in [n.image_id for n in index.search(probe, 10)]
    assert index.rebuilds == 1  # every refresh above read only the log


def test_scan_cleanup_of_missing_files_removes_their_images(lib: Library, tmp_path: Path) -> None:
    root = lib.add_root(tmp_path / "pics")
    pack_id, ids = embedded_library(lib, root, np.eye(4, dtype=np.float16))
    index = SimilarIndex(lib, pack_id)
    index.refresh()
    from sqlalchemy import text
    lib.write(lambda s: s.execute(text("UPDATE files SET status = 'missing' WHERE image_id = :i"),
                                  {"i": ids[2]}))
    lib.write(lambda s: files.delete_missing(s))
    index.refresh()
    assert sorted(n.image_id for n in index.search(np.ones(4), 10)) == sorted(
        [ids[0], ids[1], ids[3]])


def test_a_pruned_log_makes_the_index_rebuild(lib: Library, tmp_path: Path) -> None:
    from sqlalchemy import text
    root = lib.add_root(tmp_path / "pics")
    pack_id, ids = embedded_library(lib, root, np.eye(4, dtype=np.float16))
    index = SimilarIndex(lib, pack_id)
    index.refresh()
    store_embeddings(lib, pack_id, ids[:1], np.eye(4, dtype=np.float16)[3:4])
    store_embeddings(lib, pack_id, ids[:1], np.eye(4, dtype=np.float16)[2:3])
    lib.write(lambda s: s.execute(text("DELETE FROM embedding_log WHERE seq < "
                                       "(SELECT max(seq) FROM embedding_log)")))
    index.refresh()
    assert index.rebuilds == 2
    assert index.search(np.eye(4)[2], 1)[0].image_id in (ids[0], ids[2])
    assert len(index) == 4


def test_the_ivf_set_finds_the_true_neighbours(lib: Library) -> None:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((20, 32))
    x = vectors.normalize(centers[rng.integers(0, 20, 3000)] + 0.3 * rng.standard_normal((3000, 32)))
    ids = np.arange(100, 3100, dtype=np.int64)
    ivf = vectors.IvfSet(32, x)
    ivf.add(ids, x)
    exact = vectors.ExactSet(32)
    exact.add(ids, x)
    hits = 0
    for q in x[:50]:
        hits += len(set(ivf.search(q, 10)[0]) & set(exact.search(q, 10)[0]))
    assert hits / 500 >= 0.9
    ivf.remove(ids[:10])
    assert len(ivf) == 2990
    assert not set(ivf.search(x[0], 10)[0]) & set(ids[:10].tolist())


def test_ivf_queries_run_on_one_thread_and_leave_the_setting_alone() -> None:
    import faiss

    x = vectors.normalize(np.random.default_rng(1).standard_normal((800, 16)))
    ivf = vectors.IvfSet(16, x)
    ivf.add(np.arange(800, dtype=np.int64), x)
    faiss.omp_set_num_threads(2)
    seen: list[int] = []
    real = ivf._index.search

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(faiss.omp_get_max_threads())
        return real(*args, **kwargs)

    ivf._index.search = spy
    assert len(ivf.search(x[3], 5)[0]) == 5
    assert seen == [1] and faiss.omp_get_max_threads() == 2


def test_default_pack_needs_embeddings(lib: Library, tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="no active pack has stored embeddings"):
        default_pack(lib)
    pack_id, _ = embedded_library(lib, lib.add_root(tmp_path / "pics"), np.eye(3, dtype=np.float16))
    assert default_pack(lib) == (pack_id, "fake")
    with pytest.raises(LibraryError, match="no pack named 'nope'"):
        default_pack(lib, "nope")
