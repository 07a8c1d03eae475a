"""Search on real (small) libraries: semantics of every term, effective tags, paging, counts, the
bitmap index against plain SQL and against a Python oracle, autocomplete."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import library_kit
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from animesion_desktop.core.library import Library, effective
from animesion_desktop.core.library.schema import (
    File,
    Image,
    Label,
    Pack,
    PackTag,
    Prediction,
)
from animesion_desktop.core.library.tags import get_or_create_tag, parse_tag
from animesion_desktop.core.search import (
    QueryError,
    autocomplete,
    compile_query,
    count,
    index_for,
    parse,
    search,
)
from animesion_desktop.core.search.nodes import (
    And,
    Compare,
    Everything,
    IsTerm,
    Node,
    Not,
    Or,
    PathTerm,
    TagTerm,
)

# -- building libraries without the scanner ----------------------------------------------------


def add_error_file(lib: Library, root_id: int, relpath: str, size: int = 10) -> int:
    def apply(s: Session) -> int:
        f = File(root_id=root_id, relpath_raw=os.fsencode(relpath), relpath=relpath, size=size,
                 mtime_ns=0, image_id=None, status="error", error="cannot identify image file",
                 seen_at=0.0)
        s.add(f)
        s.flush()
        return f.id

    return lib.write(apply)


def add_pack(lib: Library, name: str, thresholds: dict[str, float],
             scores: dict[tuple[int, str], float]) -> None:
    def apply(s: Session) -> None:
        pack = Pack(name=name, version="1", sha256="0" * 64, path=Path("/nowhere"), active=True,
                    installed_at=0.0, info={})
        s.add(pack)
        s.flush()
        ids = {t: get_or_create_tag(s, *parse_tag(t)) for t in thresholds}
        for t, threshold in thresholds.items():
            s.add(PackTag(pack_id=pack.id, tag_id=ids[t], threshold=threshold))
        for (image_id, t), score in scores.items():
            s.add(Prediction(image_id=image_id, pack_id=pack.id, tag_id=ids[t], score=score))
        s.flush()
        effective.refresh_all(s.connection())

    lib.write(apply)


def both(lib: Library, query: str) -> set[int]:
    """The matches by the bitmap index and by plain SQL, checked equal."""
    by_index = search(lib, query, limit=None)
    by_sql = search(lib, query, limit=None, index=False)
    assert set(by_index.ids) == set(by_sql.ids), query
    assert by_index.total == by_sql.total == len(by_index.ids), query
    assert count(lib, query) == count(lib, query, index=False) == by_index.total
    return set(by_index.ids)


# -- a small library with one of everything -----------------------------------------------------
@pytest.fixture
def sample(lib: Library, tmp_path: Path) -> tuple[Library, dict[str, int]]:
    root = tmp_path / "Pictures"
    root.mkdir()
    root_id = lib.add_root(root)
    specs = {
        "a": dict(tags=["blue_hair", "hat", "hair_ribbon"], width=1920, height=1080,
                  files=[("wallpapers/a.png", "ok")], size=5_000_000),
        "b": dict(tags=["red_hair", "glasses", "witch_hat"], width=800, height=600,
                  files=[("fanart/B_b.PNG", "ok")]),
        "c": dict(tags=["pink_hair", "copyright:vocaloid", "red_ribbon"], width=2560,
                  height=1440, files=[("wallpapers/sub/c.jpg", "ok")]),
        "d": dict(tags=[], width=1000, height=2000, files=[("misc/d.png", "missing")]),
        "e": dict(tags=["blue_hair", "artist:glasses"], width=1080, height=1920,
                  files=[("misc/e.png", "ok")]),
        "f": dict(tags=["solo"], width=None, height=None,
                  files=[("misc/f.png", "ok"), ("old/f.png", "missing")]),
        "g": dict(tags=["solo", "blue_hair"], width=640, height=480,
                  files=[("misc/g.png", "ok")]),
    }
    ids = dict(zip(specs, library_kit.add_images(lib, root_id, list(specs.values())), strict=True))
    lib.set_label([ids["g"]], "smile", "accepted", source="user")  # g is reviewed
    add_pack(lib, "p1",
             {"character:hatsune_miku": 0.5, "character:kagamine_rin": 0.5, "smile": 0.3},
             {(ids["a"], "character:hatsune_miku"): 0.9, (ids["b"], "character:kagamine_rin"): 0.4,
              (ids["c"], "smile"): 0.6, (ids["e"], "character:hatsune_miku"): 0.2})
    ids["error"] = add_error_file(lib, root_id, "broken/x.png")
    ids["root"] = root_id
    return lib, ids


def test_tags_categories_and_wildcards(sample: tuple[Library, dict[str, int]]) -> None:
    lib, i = sample
    assert both(lib, "blue_hair") == {i["a"], i["e"], i["g"]}
    assert both(lib, "Blue_Hair") == {i["a"], i["e"], i["g"]}
    assert both(lib, '"blue hair"') == {i["a"], i["e"], i["g"]}
    # an unprefixed name matches it in any category; a prefix restricts
    assert both(lib, "glasses") == {i["b"], i["e"]}
    assert both(lib, "general:glasses") == {i["b"]}
    assert both(lib, "artist:glasses") == {i["e"]}
    assert both(lib, "character:hatsune_miku") == {i["a"]}  # e's score is under the threshold
    assert both(lib, "hatsune_miku") == {i["a"]}
    assert both(lib, "no_such_tag") == set()
    assert both(lib, "hat*") == {i["a"]}
    assert both(lib, "*hat") == {i["a"], i["b"]}
    assert both(lib, "*_hair") == {i["a"], i["b"], i["c"], i["e"], i["g"]}
    assert both(lib, "*ribbon*") == {i["a"], i["c"]}
    assert both(lib, "character:*miku*") == {i["a"]}
    assert both(lib, "general:*miku*") == set()
    assert both(lib, "copyright:*") == {i["c"]}


def test_and_or_not_groups(sample: tuple[Library, dict[str, int]]) -> None:
    lib, i = sample
    everything = {i[k] for k in "abcdefg"}
    assert both(lib, "") == everything
    assert both(lib, "blue_hair -glasses") == {i["a"], i["g"]}
    assert both(lib, "-glasses") == everything - {i["b"], i["e"]}
    assert both(lib, "(red_hair | pink_hair)") == {i["b"], i["c"]}
    assert both(lib, "solo blue_hair | hat") == {i["g"]}  # solo AND (blue_hair OR hat)
    assert both(lib, "solo | hat blue_hair") == {i["a"], i["g"]}  # (solo OR hat) AND blue_hair
    assert both(lib, "-(blue_hair | red_hair) -is:untagged") == {i["c"], i["f"]}
    assert both(lib, "-blue_hair | glasses") == everything - {i["a"], i["g"]}


def test_comparisons(sample: tuple[Library, dict[str, int]]) -> None:
    lib, i = sample
    assert both(lib, "width>=1920") == {i["a"], i["c"]}
    assert both(lib, "height<1080") == {i["b"], i["g"]}
    assert both(lib, "width=800") == {i["b"]}
    # images of unknown size match no comparison, and so every negated one
    assert i["f"] in both(lib, "-width>=1920") and i["f"] not in both(lib, "width<1920")
    assert both(lib, "ratio=16:9") == {i["a"], i["c"]}
    assert both(lib, "ratio<1") == {i["d"], i["e"]}
    assert both(lib, "size>1mb") == {i["a"]}
    # score: the best character prediction, thresholds aside; no prediction, no match
    assert both(lib, "score<0.5") == {i["b"], i["e"]}
    assert both(lib, "score>=0.9") == {i["a"]}
    assert both(lib, "-score<0.5") == {i[k] for k in "acdfg"}


def test_is_terms(sample: tuple[Library, dict[str, int]]) -> None:
    lib, i = sample
    assert both(lib, "is:unreviewed") == {i[k] for k in "abcdef"}  # import labels don't count
    assert both(lib, "is:untagged") == {i["d"]}
    assert both(lib, "is:missing") == {i["d"]}  # f still has a readable copy
    result = search(lib, "is:error")
    assert (result.kind, result.ids, result.total) == ("files", [i["error"]], 1)
    assert count(lib, "is:error path:broken/*") == 1
    assert count(lib, "is:error -path:broken/*") == 0
    assert count(lib, "is:error size<100") == 1
    assert search(lib, "is:error", index=False).ids == [i["error"]]


def test_path_globs(sample: tuple[Library, dict[str, int]], tmp_path: Path) -> None:
    lib, i = sample
    assert both(lib, "path:wallpapers/*") == {i["a"], i["c"]}
    assert both(lib, "path:WALLPAPERS/*.png") == {i["a"]}  # case-insensitive
    assert both(lib, "path:fanart/b_b.png") == {i["b"]}
    assert both(lib, "path:wallpapers/?.png") == {i["a"]}
    assert both(lib, r"path:wallpapers\sub\*") == {i["c"]}  # \ is a separator too
    assert both(lib, "path:*.jpg") == {i["c"]}
    assert both(lib, "path:old/*") == {i["f"]}  # a missing copy is still a known location
    assert both(lib, "path:wallpapers") == set()  # the glob must match the whole path
    root = str(tmp_path / "Pictures")
    assert both(lib, f'path:"{root}/misc/*"') == {i["d"], i["e"], i["f"], i["g"]}
    assert both(lib, f'path:"{root.upper()}/misc/e.png"') == {i["e"]}
    assert both(lib, f'path:"{root[:5]}*/e.png"') == {i["e"]}
    assert both(lib, "path:*/pictures/wallpapers/sub/*") == {i["c"]}


def test_path_with_and_without_known_roots_agree(
    sample: tuple[Library, dict[str, int]], tmp_path: Path
) -> None:
    lib, i = sample
    other = tmp_path / "Pictures2"  # a root whose path begins like the first one
    other.mkdir()
    other_id = lib.add_root(other)
    extra = library_kit.add_images(lib, other_id, [dict(files=[("misc/z.png", "ok")])])[0]
    root = str(tmp_path / "Pictures")
    globs = ["wallpapers/*", f"{root}/*", f"{root}2/*", f"{root}*/misc/*", "*/misc/*", "*",
             f"{root[:4]}*", f"{root}/misc/?.png", "misc/z.png", f"{root}2/misc/z.png"]
    with lib.read() as s:
        roots = [(int(r), str(p)) for r, p in s.execute(text("SELECT id, path FROM roots"))]
        for glob in globs:
            node = parse(f'path:"{glob}"')
            generic = {r[0] for r in s.execute(text(compile_query(node)[0]),
                                               compile_query(node)[1])}
            known, params = compile_query(node, roots)
            assert generic == {r[0] for r in s.execute(text(known), params)}, glob
    assert both(lib, f'path:"{root}2/*"') == {extra}
    assert both(lib, f'path:"{root}*/misc/*"') == {i[k] for k in "defg"} | {extra}


def test_injection_and_escaping(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    root_id = lib.add_root(root)
    ids = library_kit.add_images(lib, root_id, [
        dict(tags=["100%_off", "what?", "[x]_tag"], files=[("a_b.png", "ok")]),
        dict(tags=["1000_off", "whatx", "x_tag"], files=[("axb.png", "ok")]),
        dict(tags=["it's"], files=[("100%.png", "ok"), ("it's.png", "ok")]),
        dict(files=[("1000.png", "ok")]),
    ])
    assert both(lib, "'; DROP TABLE images; --x") == set()
    assert both(lib, "\"'; DROP TABLE images; --\" | -x") == set(ids)
    assert lib.image_count() == 4
    assert both(lib, "100%_off") == {ids[0]}
    assert both(lib, "wha*?") == {ids[0]}  # ? is not a wildcard in tag names
    assert both(lib, "[x]*") == {ids[0]}
    assert both(lib, "it's") == {ids[2]}
    assert both(lib, "path:a_b.png") == {ids[0]}  # _ and % are not LIKE wildcards here
    assert both(lib, "path:100%.png") == {ids[2]}
    assert both(lib, "path:it's.png") == {ids[2]}
    assert both(lib, "path:a?b.png") == {ids[0], ids[1]}


def test_malformed_queries_raise_query_error(sample: tuple[Library, dict[str, int]]) -> None:
    lib, _ = sample
    with pytest.raises(QueryError, match="unclosed parenthesis at column 11"):
        search(lib, "blue_hair (red_hair")
    with pytest.raises(QueryError):
        count(lib, "width>=abc")


# -- effective tags ----------------------------------------------------------------------------
def test_effective_tag_semantics_follow_labels_and_thresholds(
    sample: tuple[Library, dict[str, int]]
) -> None:
    lib, i = sample
    assert both(lib, "character:hatsune_miku") == {i["a"]}
    assert both(lib, "kagamine_rin") == set()  # b scored 0.4 under a threshold of 0.5
    assert both(lib, "smile") == {i["c"], i["g"]}

    lib.set_label([i["a"]], "character:hatsune_miku", "rejected")  # hides the prediction
    assert both(lib, "character:hatsune_miku") == set()
    assert i["a"] not in both(lib, "is:unreviewed")

    lib.set_label([i["d"]], "character:hatsune_miku", "accepted")  # shows without one
    assert both(lib, "character:hatsune_miku") == {i["d"]}
    assert both(lib, "is:untagged") == set()

    lib.set_threshold("p1", "character:kagamine_rin", 0.3)  # no rerun, just the threshold
    assert both(lib, "kagamine_rin") == {i["b"]}
    lib.set_pack_active("p1", False)
    assert both(lib, "kagamine_rin | smile") == {i["g"]}  # g's smile is a user label
    assert both(lib, "score<1") == set()


def test_index_notices_writes_from_elsewhere(sample: tuple[Library, dict[str, int]],
                                             tmp_path: Path) -> None:
    lib, i = sample
    index = index_for(lib)
    assert index is index_for(lib)
    assert count(lib, "blue_hair") == 3
    # another Library object (another connection) changes the database
    with Library.open(tmp_path / "lib.sqlite") as other:
        other.set_label([i["b"]], "blue_hair", "accepted")
    assert count(lib, "blue_hair") == 4
    assert count(lib, "-blue_hair") == 3


# -- paging and order ----------------------------------------------------------------------------
def test_paging_orders_and_totals(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    root_id = lib.add_root(root)
    names = [f"{'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[k % 26]}{k:02d}.png" for k in range(30)]
    random.Random(3).shuffle(names)
    specs = [dict(tags=["x"] if k % 6 else ["y"], files=[(names[k], "ok")]) for k in range(30)]
    ids = library_kit.add_images(lib, root_id, specs)
    xs = [image_id for k, image_id in enumerate(ids) if k % 6]
    assert len(xs) == 25
    for index in (True, False):
        first = search(lib, "x", limit=10, index=index)
        assert first.total == 25 and first.ids == sorted(xs, reverse=True)[:10]
        assert search(lib, "x", limit=10, offset=20, index=index).ids == sorted(xs)[:5][::-1]
        assert search(lib, "x", limit=10, offset=25, index=index).ids == []
        assert search(lib, "x", limit=10, order="oldest", index=index).ids == sorted(xs)[:10]
        assert search(lib, "x", limit=0, index=index).ids == []
        by_path = search(lib, "x", limit=None, order="path", index=index).ids
        path_of = dict(zip(ids, names, strict=True))
        assert by_path == sorted(xs, key=lambda j: path_of[j].lower())
        pages = [search(lib, "x", limit=7, offset=o, order="random", seed=5, index=index).ids
                 for o in range(0, 25, 7)]
        flat = [j for page in pages for j in page]
        assert sorted(flat) == sorted(xs) and flat != sorted(xs)
    assert (search(lib, "x", limit=7, order="random", seed=5).ids
            == search(lib, "x", limit=7, order="random", seed=5, index=False).ids)
    with pytest.raises(ValueError, match="unknown order"):
        search(lib, "x", order="sideways")


def test_path_order_roots_then_relpaths_ignoring_case(lib: Library, tmp_path: Path) -> None:
    zroot, aroot = tmp_path / "z", tmp_path / "A"  # added in this order, sorted the other way
    zroot.mkdir()
    aroot.mkdir()
    z_id, a_id = lib.add_root(zroot), lib.add_root(aroot)
    z = library_kit.add_images(lib, z_id, [dict(files=[("b.png", "ok")]), dict(files=[("A.png", "ok")]),
                               dict(files=[("c/x.png", "ok"), ("0.png", "missing")]),
                               dict(files=[])])
    a = library_kit.add_images(lib, a_id, [dict(files=[("B.png", "ok")]), dict(files=[("a.png", "ok")])])
    expected = [a[1], a[0], z[2], z[1], z[0], z[3]]
    for index in (True, False):
        assert search(lib, "", limit=None, order="path", index=index).ids == expected
        assert search(lib, "", limit=2, offset=3, order="path", index=index).ids == expected[3:5]
        assert search(lib, "-path:*b.png", limit=None, order="path", index=index).ids == [
            a[1], z[2], z[1], z[3]]


# -- the bitmap index, plain SQL and a Python oracle agree on random libraries ------------------
VOCAB = ["blue_hair", "red_hair", "long_hair", "hat", "witch_hat", "hair_ribbon", "glasses",
         "solo", "smile", "character:hatsune_miku", "character:hat", "copyright:vocaloid",
         "artist:solo", "meta:highres"]


def random_library(lib: Library, root: Path, rng: random.Random, n: int = 160) -> None:
    root.mkdir()
    root_id = lib.add_root(root)
    folders = ["a", "b/sub", "C", "b"]
    specs = []
    for k in range(n):
        files = [(f"{rng.choice(folders)}/{k}_{j}.{rng.choice(['png', 'jpg'])}",
                  rng.choice(["ok", "ok", "ok", "missing"])) for j in range(rng.choice([0, 1, 1, 2]))]
        specs.append(dict(
            tags=rng.sample(VOCAB, rng.choice([0, 1, 2, 3, 4, 5])),
            width=rng.choice([None, 640, 1280, 1920, 2560]),
            height=rng.choice([None, 480, 1080, 1440, 2000]),
            files=files, size=rng.choice([500, 5000, 50000]),
        ))
    ids = library_kit.add_images(lib, root_id, specs)
    for _ in range(40):
        lib.set_label([rng.choice(ids)], rng.choice(VOCAB), rng.choice(["accepted", "rejected"]),
                      source=rng.choice(["user", "import:x"]))
    add_pack(lib, "rp", {"character:hatsune_miku": 0.5, "character:kagamine_rin": 0.6,
                         "smile": 0.4},
             {(rng.choice(ids), t): round(rng.random(), 3)
              for t in ("character:hatsune_miku", "character:kagamine_rin", "smile")
              for _ in range(50)})
    for k in range(3):
        add_error_file(lib, root_id, f"b/broken{k}.png")


def random_query(rng: random.Random, depth: int = 0) -> str:
    if depth < 3 and rng.random() < 0.45:
        parts = [random_query(rng, depth + 1) for _ in range(rng.choice([2, 2, 3]))]
        joined = (" | " if rng.random() < 0.5 else " ").join(parts)
        return f"-({joined})" if rng.random() < 0.2 else f"({joined})"
    leaf = rng.choice([
        lambda: rng.choice(VOCAB),
        lambda: rng.choice(VOCAB).split(":")[-1],
        lambda: rng.choice(["*hair*", "hat*", "*_hat", "*", "character:*", "*o*", "general:*a*"]),
        lambda: f"{rng.choice(['width', 'height'])}{rng.choice(['>=', '<', '=', '>'])}"
                f"{rng.choice([480, 1080, 1280, 1920])}",
        lambda: f"score{rng.choice(['<', '>='])}{rng.choice([0.3, 0.5, 0.8])}",
        lambda: f"size{rng.choice(['<', '>'])}{rng.choice([1000, 10000])}",
        lambda: rng.choice(["is:unreviewed", "is:untagged", "is:missing"]),
        lambda: rng.choice(["path:a/*", "path:B/*", "path:*sub*", "path:*.JPG", "path:c/?_0.*"]),
    ])()
    return ("-" if rng.random() < 0.25 else "") + leaf


class Oracle:
    """Evaluates a query in Python over everything read back from the library."""

    def __init__(self, lib: Library) -> None:
        with lib.read() as s:
            self.images = {im.id: im for im in s.execute(
                select(Image.id, Image.width, Image.height, Image.char_score))}
            self.files: dict[int, list[Any]] = {}
            for f in s.execute(select(File.image_id, File.root_id, File.relpath, File.size,
                                      File.status).where(File.image_id.is_not(None))):
                self.files.setdefault(f.image_id, []).append(f)
            self.roots = dict(s.execute(text("SELECT id, path FROM roots")).all())
            self.user = set(s.scalars(select(Label.image_id).where(Label.source == "user")))
        self.tags = {i: lib.effective_tags(i) for i in self.images}

    def matches(self, node: Node) -> set[int]:
        return {i for i in self.images if self._eval(node, i)}

    def _eval(self, node: Node, i: int) -> bool:
        if isinstance(node, Everything):
            return True
        if isinstance(node, And):
            return all(self._eval(c, i) for c in node.children)
        if isinstance(node, Or):
            return any(self._eval(c, i) for c in node.children)
        if isinstance(node, Not):
            return not self._eval(node.child, i)
        image, files = self.images[i], self.files.get(i, [])
        if isinstance(node, TagTerm):
            pattern = re.compile(".*".join(map(re.escape, node.name.split("*"))) + r"\Z")
            return any(pattern.match(name) and node.category in (None, cat)
                       for cat, name in self.tags[i])
        if isinstance(node, Compare):
            ops = {">=": float.__ge__, "<=": float.__le__, ">": float.__gt__,
                   "<": float.__lt__, "=": float.__eq__}
            op = ops[node.op]
            if node.field == "size":
                return any(op(float(f.size), node.value) for f in files)
            value = {"width": image.width, "height": image.height,
                     "score": image.char_score}[node.field]
            return value is not None and op(float(value), node.value)
        if isinstance(node, IsTerm):
            if node.what == "unreviewed":
                return i not in self.user
            if node.what == "untagged":
                return not self.tags[i]
            return bool(files) and all(f.status == "missing" for f in files)
        assert isinstance(node, PathTerm)
        glob = node.glob.replace("/", os.sep).replace("\\", os.sep)
        pattern = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                                     for c in glob) + r"\Z", re.IGNORECASE | re.DOTALL)
        return any(pattern.match(f.relpath) or pattern.match(
            str(self.roots[f.root_id]).rstrip(os.sep) + os.sep + f.relpath) for f in files)


@pytest.mark.parametrize("seed", [1, 2])
def test_bitmap_sql_and_oracle_agree_on_random_queries(lib: Library, tmp_path: Path,
                                                        seed: int) -> None:
    rng = random.Random(seed)
    random_library(lib, tmp_path / "pics", rng)
    oracle = Oracle(lib)
    nonempty = 0
    for _ in range(150):
        query = random_query(rng)
        expected = oracle.matches(parse(query))
        assert count(lib, query) == len(expected), query
        assert count(lib, query, index=False) == len(expected), query
        page = search(lib, query, limit=5, offset=2)
        assert page.ids == sorted(expected, reverse=True)[2:7], query
        assert search(lib, query, limit=5, offset=2, index=False).ids == page.ids, query
        nonempty += bool(expected)
    assert nonempty > 50  # the queries are not trivially empty


# -- autocomplete -----------------------------------------------------------------------------------
def test_autocomplete_substring_counts_and_order(sample: tuple[Library, dict[str, int]]) -> None:
    lib, i = sample
    got = autocomplete(lib, "hair")
    assert [(r.category, r.name, r.count) for r in got] == [
        ("general", "blue_hair", 3), ("general", "hair_ribbon", 1),
        ("general", "pink_hair", 1), ("general", "red_hair", 1)]
    assert got[0] == ("general", "blue_hair", 3)  # a plain tuple, too
    assert [r.name for r in autocomplete(lib, "hat")] == ["hat", "hatsune_miku", "witch_hat"]
    assert [r.name for r in autocomplete(lib, "o", limit=2)] == ["solo", "hair_ribbon"]
    assert [(r.category, r.name) for r in autocomplete(lib, "glasses")] == [
        ("artist", "glasses"), ("general", "glasses")]
    assert [r.name for r in autocomplete(lib, "character:MIKU")] == ["hatsune_miku"]
    assert [r.name for r in autocomplete(lib, '-"red rib')] == ["red_ribbon"]
    assert [r.name for r in autocomplete(lib, "h*r_r")] == ["hair_ribbon"]
    assert autocomplete(lib, "rin") == []  # kagamine_rin is in the pack but no image has it
    assert autocomplete(lib, "rin", include_unused=True) == [("character", "kagamine_rin", 0)]
    lib.set_threshold("p1", "character:kagamine_rin", 0.1)
    assert autocomplete(lib, "rin") == [("character", "kagamine_rin", 1)]
    total = sum(r.count for r in autocomplete(lib, "", limit=None))
    with lib.read() as s:
        assert total == s.scalar(text("SELECT count(*) FROM image_tags"))


def test_closing_the_library_closes_the_index(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib.sqlite")
    assert count(lib, "anything") == 0
    index = index_for(lib)
    assert index.connected
    lib.close()
    assert not index.connected
