"""The search index keeps its bitmaps across writes: after every kind of change its answers equal
plain SQL and a fresh index, and a small change rebuilds only what it can affect.

Each test warms the live index first (every query, plus autocomplete counts of every tag), so a
cache that should have been dropped or patched and was not shows up as a wrong answer.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import library_kit
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library, changes, effective
from animesion_desktop.core.library.schema import (
    Image,
    Pack,
    PackTag,
    Root,
    Tag,
)
from animesion_desktop.core.library.tags import get_or_create_tag, parse_tag
from animesion_desktop.core.scan import purge_missing, scan_roots
from animesion_desktop.core.search import autocomplete, bitmaps, index_for, parse, search
from animesion_desktop.core.search.bitmaps import SearchIndex
from animesion_desktop.core.search.nodes import Compare, IsTerm, Leaf, PathTerm, TagTerm
from animesion_desktop.core.tagging.store import StoredImage, write_batch

QUERIES = [
    "", "blue_hair", "-blue_hair", "red_hair", "hat*", "*hair*", "-*_hair", "character:*",
    "(red_hair | pink_hair)", "blue_hair -glasses", "glasses", "character:miku",
    "is:untagged", "-is:untagged", "is:unreviewed", "is:missing", "-is:missing",
    "width>=1000", "height<700", "ratio>1", "score<0.5", "score>=0.5", "size>2000",
    "path:wallpapers/*", "-path:wallpapers/*", "new_tag", "*new*",
    "blue_hair width>=1000 -is:unreviewed", "(is:untagged | glasses) -path:misc/*",
]


# -- building -------------------------------------------------------------------------------------
def add_pack(lib: Library, name: str, tags: Sequence[str], threshold: float = 0.5) -> int:
    def apply(s: Session) -> int:
        pack = Pack(name=name, version="1", sha256="0" * 64, path=Path("/nowhere"), active=True,
                    installed_at=0.0, info={})
        s.add(pack)
        s.flush()
        for tag in tags:
            s.add(PackTag(pack_id=pack.id, tag_id=get_or_create_tag(s, *parse_tag(tag)),
                          threshold=threshold))
        return pack.id

    return lib.write(apply)


def tagging_commit(lib: Library, pack_id: int, scores: dict[int, dict[str, float]]) -> None:
    """What the tagging job commits for a batch: the engine's own write_batch."""

    def apply(s: Session) -> list[int]:
        batch = [
            StoredImage(image_id, None,
                        {get_or_create_tag(s, *parse_tag(t)): v for t, v in tags.items()}, None, 0)
            for image_id, tags in scores.items()
        ]
        return write_batch(s, pack_id, batch)

    lib.write(apply)


@pytest.fixture
def world(lib: Library, tmp_path: Path) -> Iterator[tuple[Library, dict[str, int], int]]:
    root = tmp_path / "Pictures"
    root.mkdir()
    root_id = lib.add_root(root)
    specs = {
        "a": dict(tags=["blue_hair", "hat"], width=1920, height=1080, path="wallpapers/a.png",
                  size=5000),
        "b": dict(tags=["red_hair", "glasses", "witch_hat"], width=800, height=600),
        "c": dict(tags=["pink_hair"], width=2560, height=1440, path="wallpapers/c.png"),
        "d": dict(tags=[], width=1000, height=2000, path="misc/d.png", status="missing"),
        "e": dict(tags=["blue_hair", "glasses"], width=1080, height=1920, path="misc/e.png"),
        "f": dict(tags=[], width=None, height=None),
        "g": dict(tags=["blue_hair"], width=640, height=480, size=3000),
    }
    ids = dict(zip(specs, library_kit.add_images(lib, root_id, list(specs.values())), strict=True))
    pack = add_pack(lib, "p", ["character:miku", "character:rin", "smile"])
    tagging_commit(lib, pack, {ids["a"]: {"character:miku": 0.9, "smile": 0.3},
                               ids["b"]: {"character:rin": 0.4},
                               ids["c"]: {"smile": 0.8, "character:rin": 0.7}})
    lib.set_label([ids["g"]], "smile", "accepted")  # a user's review
    yield lib, ids, pack


# -- checking -------------------------------------------------------------------------------------
def warm(lib: Library) -> None:
    """Fill the live index: every query's leaves, and counts of every tag."""
    for q in QUERIES:
        search(lib, q, limit=None)
    autocomplete(lib, "", limit=None, include_unused=True)


def check(lib: Library) -> None:
    """The live index answers like plain SQL and like a fresh index, counts included."""
    fresh = SearchIndex(lib.engine)
    try:
        for q in QUERIES:
            live = search(lib, q, limit=None)
            by_sql = search(lib, q, limit=None, index=False)
            with fresh.snapshot():
                new = fresh.evaluate(parse(q))
            assert sorted(live.ids) == sorted(by_sql.ids) == list(new), q
            assert live.total == by_sql.total, q
            assert search(lib, q, limit=3, order="path").ids == \
                search(lib, q, limit=3, order="path", index=False).ids, q
        with lib.read() as s:
            truth = dict(s.execute(text(
                "SELECT t.id, count(it.image_id) FROM tags t "
                "LEFT JOIN image_tags it ON it.tag_id = t.id GROUP BY t.id")).all())
        index = index_for(lib)
        with index.snapshot():
            assert index.tag_counts(truth) == truth
    finally:
        fresh.close()


def tag_id(lib: Library, tag: str) -> int:
    category, name = parse_tag(tag)
    with lib.read() as s:
        found = s.scalar(select(Tag.id).where(Tag.category == category, Tag.name == name))
    assert found is not None
    return found


# -- every kind of change -------------------------------------------------------------------------
def test_labels_accept_reject_clear_undo(world: tuple[Library, dict[str, int], int]) -> None:
    lib, i, _pack = world
    warm(lib)
    check(lib)
    done = lib.set_label([i["f"]], "blue_hair", "accepted")  # f was untagged
    check(lib)
    lib.set_label([i["a"]], "character:miku", "rejected")  # hides a prediction
    check(lib)
    lib.set_label([i["b"], i["d"]], "new_tag", "accepted")  # a tag that did not exist
    check(lib)
    lib.clear_label([i["a"]], "character:miku")
    check(lib)
    lib.undo(done)
    check(lib)
    warm(lib)
    lib.set_label([i["e"]], "glasses", "rejected")
    lib.set_label([i["e"]], "glasses", "accepted")  # two commits before the next query
    lib.set_label([i["e"]], "blue_hair", "rejected")
    check(lib)


def test_tagging_commits(world: tuple[Library, dict[str, int], int]) -> None:
    lib, i, pack = world
    warm(lib)
    tagging_commit(lib, pack, {i["f"]: {"smile": 0.9, "character:miku": 0.2},  # f gets tags
                               i["c"]: {"character:rin": 0.1},  # c loses smile and rin
                               i["a"]: {"character:miku": 0.95, "smile": 0.3}})  # the same
    check(lib)
    tagging_commit(lib, pack, {i["f"]: {}})  # f untagged again
    tagging_commit(lib, pack, {i["f"]: {"blue_hair": 0.99}})  # not in the pack: no effect
    check(lib)
    # a direct refresh, as a label or pack change does
    lib.write(lambda s: effective.refresh_images(s.connection(), [i["b"], i["c"]]))
    check(lib)


def test_threshold_and_pack_changes(world: tuple[Library, dict[str, int], int]) -> None:
    lib, i, _pack = world
    warm(lib)
    index = index_for(lib)
    smile, rin = tag_id(lib, "smile"), tag_id(lib, "character:rin")
    search(lib, "smile")  # its posting is cached
    smile_posting = index._postings[smile]
    with lib.read() as s:
        before = s.execute(text("SELECT coalesce(max(seq), 0) FROM tag_changes")).scalar()
    lib.set_threshold("p", "character:rin", 0.35)  # b gets rin
    check(lib)
    # Only rin's rows were rewritten, as a logged diff: the other tags' bitmaps survive.
    with lib.read() as s:
        logged = s.execute(text("SELECT DISTINCT tag_id FROM tag_changes WHERE seq > :b"),
                           {"b": before}).all()
    assert logged == [(rin,)]
    assert index._postings[smile] is smile_posting
    warm(lib)
    lib.set_pack_active("p", False)
    check(lib)


def test_scans_roots_and_purges(world: tuple[Library, dict[str, int], int], tmp_path: Path,
                                make_image) -> None:
    lib, i, _pack = world
    other = tmp_path / "Other"
    for k in range(3):
        make_image(other / "wallpapers" / f"{k}.png", seed=100 + k, size=(1200 + k, 700))
    warm(lib)
    run_to_end(scan_roots(lib, [other], threading.Event()))  # new images, files and a root
    check(lib)
    warm(lib)
    (other / "wallpapers" / "0.png").unlink()
    run_to_end(scan_roots(lib, [other], threading.Event()))  # a file goes missing
    check(lib)
    warm(lib)
    # removing the root cascades to its files, the missing one included (is:missing changes)
    lib.write(lambda s: s.delete(s.scalars(select(Root).where(Root.path == other)).one()))
    check(lib)
    warm(lib)
    purge_missing(lib)  # deletes missing files and the images only they showed (d, 0.png)
    check(lib)


def test_deleting_a_tag_and_an_image(world: tuple[Library, dict[str, int], int]) -> None:
    lib, i, _pack = world
    warm(lib)
    lib.write(lambda s: s.execute(text("DELETE FROM tags WHERE name = 'glasses'")))
    check(lib)
    warm(lib)
    lib.write(lambda s: s.execute(text("DELETE FROM images WHERE id = :i"), {"i": i["g"]}))
    check(lib)


def test_writes_from_outside_the_engine_clear_everything(
    world: tuple[Library, dict[str, int], int], tmp_path: Path
) -> None:
    lib, i, _pack = world
    warm(lib)
    with sqlite3.connect(tmp_path / "lib.sqlite") as con:  # no change recording here
        con.execute("INSERT INTO image_tags (tag_id, image_id) VALUES (?, ?)",
                    (tag_id(lib, "blue_hair"), i["b"]))
    check(lib)
    # and through another Library (its own engine records the change)
    with Library.open(tmp_path / "lib.sqlite") as other:
        other.set_label([i["c"]], "glasses", "accepted")
    check(lib)


def test_big_changes_fall_back_to_clearing(world: tuple[Library, dict[str, int], int],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    lib, i, pack = world
    warm(lib)
    monkeypatch.setattr(effective, "DIFF_IMAGES", 1)  # too many images to diff
    lib.set_label([i["a"], i["f"]], "glasses", "accepted")
    check(lib)
    monkeypatch.undo()
    warm(lib)
    monkeypatch.setattr(effective, "LOG_ROWS", 1)  # a diff too big to log
    lib.set_label([i["c"], i["g"]], "hat", "accepted")
    check(lib)
    monkeypatch.undo()
    warm(lib)
    monkeypatch.setattr(bitmaps, "PATCH_ROWS", 1)  # more log rows than the index patches
    index, hat = index_for(lib), tag_id(lib, "hat")
    kept = index._postings[hat]
    lib.set_label([i["b"], i["f"]], "blue_hair", "accepted")
    check(lib)
    assert index._postings[hat] is not kept  # cleared and rebuilt
    monkeypatch.undo()
    warm(lib)
    monkeypatch.setattr(changes, "LOG_KEEP", 2)  # the log is pruned past what the index saw
    kept = index._postings[hat]
    for state in ("accepted", "rejected") * 3:  # six commits, one log row each
        lib.set_label([i["c"]], "red_hair", state)
    with lib.read() as s:
        assert s.scalar(text("SELECT count(*) FROM tag_changes")) <= 4
        assert s.scalar(text("SELECT n FROM generations WHERE name = 'tag_changes_pruned'")) > 0
    check(lib)
    assert index._postings[hat] is not kept


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences_of_changes(world: tuple[Library, dict[str, int], int],
                                     seed: int) -> None:
    """Several commits between two queries, in random order, of every cheap kind."""
    lib, i, pack = world
    rng = random.Random(seed)
    images = list(i.values())
    tags = ["blue_hair", "red_hair", "glasses", "hat", "character:miku", "character:rin",
            "smile", "fresh_tag"]
    warm(lib)
    for _step in range(12):
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            some = rng.sample(images, rng.randint(1, 3))
            if kind < 0.4:
                lib.set_label(some, rng.choice(tags), rng.choice(["accepted", "rejected"]),
                              source=rng.choice(["user", "import:test"]))
            elif kind < 0.55:
                lib.clear_label(some, rng.choice(tags))
            elif kind < 0.9:
                tagging_commit(lib, pack, {
                    image: {t: rng.random() for t in rng.sample(tags, rng.randint(0, 3))}
                    for image in some})
            else:
                lib.set_threshold("p", rng.choice(["character:miku", "character:rin", "smile"]),
                                  rng.random())
        check(lib)


# -- what a small change keeps --------------------------------------------------------------------
def built_leaves(index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> list[Leaf]:
    built: list[Leaf] = []
    original = index._build_leaf

    def spy(leaf: Leaf):
        built.append(leaf)
        return original(leaf)

    monkeypatch.setattr(index, "_build_leaf", spy)
    return built


def test_a_label_keeps_unrelated_caches(world: tuple[Library, dict[str, int], int],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    lib, i, _pack = world
    warm(lib)
    index = index_for(lib)
    red, blue = tag_id(lib, "red_hair"), tag_id(lib, "blue_hair")
    universe, red_posting, blue_posting = index._universe, index._postings[red], index._postings[blue]
    width_leaf = index._leaves[Compare("width", ">=", 1000)]
    path_leaf = index._leaves[PathTerm("wallpapers/*")]
    built = built_leaves(index, monkeypatch)

    lib.set_label([i["f"]], "blue_hair", "accepted")  # one label, on an untagged image
    check(lib)
    assert index._universe is universe
    assert index._postings[red] is red_posting  # unrelated tag: the same object
    assert index._postings[blue] is not blue_posting and i["f"] in index._postings[blue]
    assert i["f"] not in blue_posting  # patched into a new bitmap, the old one untouched
    assert index._leaves[Compare("width", ">=", 1000)] is width_leaf
    assert index._leaves[PathTerm("wallpapers/*")] is path_leaf
    # Rebuilt: is:unreviewed (labels changed) and score leaves (char_score was rewritten);
    # tag terms and is:untagged were patched, not rebuilt. (check() also built a fresh index's
    # leaves, but on another object.)
    assert {type(leaf) for leaf in built} <= {IsTerm, Compare}
    assert {leaf for leaf in built if isinstance(leaf, IsTerm)} == {IsTerm("unreviewed")}
    assert {leaf.field for leaf in built if isinstance(leaf, Compare)} == {"score"}


def test_a_tagging_commit_rebuilds_only_score_leaves(
    world: tuple[Library, dict[str, int], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    lib, i, pack = world
    warm(lib)
    index = index_for(lib)
    unreviewed = index._leaves[IsTerm("unreviewed")]
    built = built_leaves(index, monkeypatch)
    tagging_commit(lib, pack, {i["f"]: {"smile": 0.9}, i["b"]: {"character:rin": 0.6}})
    check(lib)
    assert index._leaves[IsTerm("unreviewed")] is unreviewed
    assert all(isinstance(leaf, Compare) and leaf.field == "score" for leaf in built), built
    assert TagTerm("*", "character") in index._leaves and IsTerm("untagged") in index._leaves


# -- recording ------------------------------------------------------------------------------------
def generations(lib: Library) -> dict[str, int]:
    with lib.read() as s:
        return dict(s.execute(text("SELECT name, n FROM generations")).all())


def test_each_write_bumps_what_it_touched_in_its_own_transaction(lib: Library) -> None:
    g0 = generations(lib)

    def moved() -> set[str]:
        nonlocal g0
        g1 = generations(lib)
        out = {k for k in g1 if g1[k] != g0.get(k)}
        g0 = g1
        return out

    lib.write(lambda s: s.add(Image(hash="a" * 64, width=1, height=1, format="png",
                                    added_at=0.0)))
    assert moved() == {"commits", "images_rows"}
    lib.write(lambda s: s.connection().exec_driver_sql(  # executemany through the driver
        "UPDATE images SET width = ? WHERE id = ?", [(5, 1), (6, 2)]))
    assert moved() == {"commits", "images_size"}
    lib.set_label([1], "blue_hair", "accepted")  # tag, label, logged effective tags, score
    assert moved() == {"commits", "tags", "labels", "images_score"}
    lib.set_label([1], "blue_hair", "accepted")  # the same again: image_tags unchanged
    assert moved() == {"commits", "labels", "images_score"}

    def fails(s: Session) -> None:
        s.execute(text("DELETE FROM labels"))
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        lib.write(fails)
    assert moved() == set()
    lib.write(lambda s: s.execute(text("DELETE FROM images")))  # cascades
    assert moved() == {"commits", "images_rows", "files", "labels", "image_tags_all"}
    with lib.read() as s:
        assert s.execute(text("SELECT image_id, added FROM tag_changes ORDER BY seq")).all() == [
            (1, 1)]


@pytest.mark.parametrize(("statement", "domains"), [
    ("SELECT * FROM images", None),
    ("INSERT INTO images (hash) VALUES (?)", {"images_rows"}),
    ("UPDATE images SET char_score = (SELECT max(score) FROM predictions p WHERE "
     "p.image_id = images.id) WHERE id IN (SELECT image_id FROM _dirty)", {"images_score"}),
    ("UPDATE images SET width=?, height=? WHERE images.id = ?", {"images_size"}),
    ("UPDATE images SET format = ?", {"images_other"}),
    ('UPDATE "images" SET (width, height) = (1, 2)',
     {"images_size", "images_score", "images_other"}),
    ("DELETE FROM roots WHERE id = 1", {"roots", "files"}),
    ("INSERT OR REPLACE INTO labels VALUES (1, 2, 'accepted', 'user', 0)", {"labels"}),
    ("REPLACE INTO tags (id, category, name) VALUES (1, 'general', 'x')",
     {"tags", "labels", "image_tags_all"}),
    ("DELETE FROM image_tags", {"image_tags_all"}),
    (f"{changes.LOGGED} DELETE FROM image_tags WHERE image_id = 1", set()),
    ("INSERT INTO predictions VALUES (?, ?, ?, ?)", set()),
    ("CREATE TEMP TABLE IF NOT EXISTS _dirty (image_id INTEGER PRIMARY KEY)", None),
    ("WITH x AS (SELECT 1) DELETE FROM labels", set(changes.DOMAINS) - {"commits"}),
    ("-- note\n  /* more */ update files set status = 'missing'", {"files"}),
])
def test_classify(statement: str, domains: set[str] | None) -> None:
    got = changes.classify(statement)
    if domains is None:
        assert got == frozenset()
    else:
        assert got - {"commits", "tag_changes"} == domains
        assert "commits" in got
