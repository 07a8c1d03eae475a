"""An in-memory bitmap index that answers searches by set algebra.

Each tag's image set is a roaring bitmap built lazily from ``image_tags`` (one read of the tag's
rows); any other term's image set is built once from SQL (the compiler's own predicates, so both
paths mean the same thing). AND, OR and NOT are then intersections, unions and differences, a
count is the size of the result and a page is a slice of it.

Keeping the caches fresh. Every operation first reads ``PRAGMA data_version`` on the index's own
connection, which changes whenever another connection commits. When it has, the index reads what
the commits changed, in the same read transaction as the data (see core/library/changes.py):

- ``generations``, one counter per domain, bumped by each write transaction. Only the caches
  that depend on a moved counter are dropped (:func:`_depends_on`): the universe and the path
  order on inserted or deleted images; width/height/ratio leaves on changed sizes, score leaves
  on changed character scores; path:/size/is:missing leaves and the path order on files or
  roots; is:unreviewed on labels; the tag list and tag-term leaves on tags. An UPDATE of images
  (a tagging commit rewrites ``char_score``) leaves the universe alone.
- ``tag_changes``, the log of (image, tag) rows added to or removed from ``image_tags``. Up to
  :data:`PATCH_ROWS` new rows are applied in place (:meth:`SearchIndex._patch_tags`): the cached
  postings and counts of the tags in them, the tag-term leaves over those tags and is:untagged,
  re-deciding only the images in the log. More rows, a pruned gap, or a moved ``image_tags_all``
  (an active-pack change, deleted images or tags) clear the tag caches instead; a threshold
  change is a logged diff of one tag's rows like any other.
- A commit that moved no counter at all came from outside the library's engine (a raw
  connection, a hand edit): everything is dropped, as before.

So a label accepted in the GUI or a tagging batch costs the next query a few small SQL reads and
bitmap edits instead of rebuilding every bitmap it needs (benchmarks/bench_search.py prints both).
Patched bitmaps are new objects; a bitmap :meth:`SearchIndex.evaluate` returned is never edited.
"""

from __future__ import annotations

import array
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from pyroaring import BitMap
from sqlalchemy import Engine, event

from animesion_desktop.core.library import changes
from animesion_desktop.core.search import sql
from animesion_desktop.core.search.nodes import (
    And,
    Compare,
    Everything,
    IsTerm,
    Leaf,
    Node,
    Not,
    Or,
    PathTerm,
    SimilarTerm,
    TagTerm,
)

TagRow = tuple[int, str, str]  # (id, category, name)
# More new tag_changes rows than this and rebuilding the tag bitmaps is about as cheap as
# patching them (and the log may have been pruned anyway).
PATCH_ROWS = 50_000
_UNTAGGED = IsTerm("untagged")
_COLUMNS = {
    "width": changes.IMAGES_SIZE, "height": changes.IMAGES_SIZE, "ratio": changes.IMAGES_SIZE,
    "score": changes.IMAGES_SCORE,
}


class SearchIndex:
    """Bitmaps of one library. Thread-safe: one operation at a time, on its own connection."""

    def __init__(self, engine: Engine, leaf_cache: int = 256) -> None:
        self._engine = engine
        self._raw: Any = None  # a pooled DBAPI connection, checked out for the index's lifetime
        self._lock = threading.RLock()
        self._version: int | None = None
        self._generations: dict[str, int] | None = None  # as of the caches; None: unknown
        self._seq = 0  # the last tag_changes row the caches include
        self._leaf_limit = leaf_cache
        self._clear()
        # Closing the library disposes its engine; let go of our connection then too.
        event.listen(engine, "engine_disposed", self._on_disposed)

    # -- lifetime and freshness --------------------------------------------------------------
    def _clear(self) -> None:
        self._universe: BitMap | None = None
        self._postings: dict[int, BitMap] = {}
        self._counts: dict[int, int] = {}
        self._tags: list[TagRow] | None = None
        self._roots: list[sql.RootInfo] | None = None
        self._leaves: OrderedDict[Leaf, BitMap] = OrderedDict()
        self._leaf_tags: dict[TagTerm, frozenset[int]] = {}  # the tags behind a tag-term leaf
        self._path_order: np.ndarray | None = None
        self._key_orders: dict[str, np.ndarray] = {}  # KEY_ORDERS name -> every image id

    def _clear_tags(self) -> None:
        """Drop everything built from ``image_tags``."""
        self._postings = {}
        self._counts = {}
        for leaf in [k for k in self._leaves if isinstance(k, TagTerm) or k == _UNTAGGED]:
            self._drop_leaf(leaf)

    def _drop_leaf(self, leaf: Leaf) -> None:
        self._leaves.pop(leaf, None)
        if isinstance(leaf, TagTerm):
            self._leaf_tags.pop(leaf, None)

    def invalidate(self) -> None:
        """Drop every cache (the next operation rebuilds what it needs)."""
        with self._lock:
            self._clear()

    def close(self, *, invalidate: bool = False) -> None:
        """Give the connection back (or, once the engine is disposed, close it for good)."""
        with self._lock:
            if self._raw is not None:
                if invalidate:
                    self._raw.invalidate()
                else:
                    self._raw.close()
                self._raw = None
            self._version = None
            self._generations = None
            self._clear()

    @property
    def connected(self) -> bool:
        return self._raw is not None

    def _on_disposed(self, _engine: Engine) -> None:
        self.close(invalidate=True)

    @contextmanager
    def snapshot(self) -> Iterator[SearchIndex]:
        """Hold the index for a series of reads that all see one state of the database."""
        with self._lock:
            if self._raw is None:
                self._raw = self._engine.raw_connection()
            con: sqlite3.Connection = self._raw.driver_connection
            if con.in_transaction:
                con.rollback()
            con.execute("BEGIN")
            try:
                con.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # start the read
                version = con.execute("PRAGMA data_version").fetchone()[0]
                if version != self._version:
                    self._catch_up(con)
                    self._version = version
                yield self
            finally:
                con.rollback()

    def _catch_up(self, con: sqlite3.Connection) -> None:
        """Drop or patch what the commits since the last operation changed (module docstring)."""
        try:
            now = dict(con.execute("SELECT name, n FROM generations").fetchall())
            seq = con.execute("SELECT coalesce(max(seq), 0) FROM tag_changes").fetchone()[0]
        except sqlite3.OperationalError:  # not a schema this version can follow
            now, seq = None, 0
        before, self._generations = self._generations, now
        last_seq, self._seq = self._seq, seq
        if now is None or before is None:
            self._clear()
            return
        moved = {k for k in now.keys() | before.keys() if now.get(k) != before.get(k)}
        pruned = now.get(changes.TAG_CHANGES_PRUNED, 0)
        moved -= {changes.COMMITS, changes.TAG_CHANGES_PRUNED}
        if now == before and seq == last_seq:  # a commit nobody recorded
            self._clear()
            return
        if moved - set(changes.DOMAINS):  # written by a newer version: play safe
            self._clear()
            return
        if changes.IMAGES_ROWS in moved:
            self._universe = None
        if changes.ROOTS in moved:
            self._roots = None
        if changes.TAGS in moved:
            self._tags = None
        if moved & {changes.IMAGES_ROWS, changes.FILES, changes.ROOTS}:
            self._path_order = None
        for name in [n for n in self._key_orders if KEY_ORDERS[n][1] & moved]:
            del self._key_orders[name]
        for leaf in [k for k in self._leaves if _depends_on(k) & moved]:
            self._drop_leaf(leaf)
        if changes.IMAGE_TAGS_ALL in moved or last_seq < pruned:
            self._clear_tags()
        elif seq > last_seq:
            log = self._array(
                "SELECT group_concat(tag_id || ',' || image_id || ',' || added) FROM "
                "(SELECT tag_id, image_id, added FROM tag_changes WHERE seq > ? ORDER BY seq "
                "LIMIT ?)", (last_seq, PATCH_ROWS + 1)).astype(np.int64).reshape(-1, 3)
            if len(log) > PATCH_ROWS:
                self._clear_tags()
            else:
                self._patch_tags(log)

    def _patch_tags(self, log: np.ndarray) -> None:
        """Apply ``tag_changes`` rows (tag_id, image_id, added), oldest first, to the tag caches.

        Every row is one real transition of one (tag, image) pair, so a tag's count moves by the
        rows' sum of +1/-1, and a pair's final state is its last row. Only logged images can
        change membership in a leaf: a tag-term leaf re-decides them from its tags' postings
        (all cached, and patched first), is:untagged from whether they have any tag left."""
        if not len(log):
            return
        tags, images, added = log[:, 0], log[:, 1], log[:, 2].astype(bool)
        # The final state of each pair that moved: its last row.
        _unique, from_end = np.unique(((tags << 32) | images)[::-1], return_index=True)
        last = np.sort(len(log) - 1 - from_end)
        tags_f, images_f, added_f = tags[last], images[last], added[last]
        # Postings: one new bitmap per changed tag that is cached.
        order = np.argsort(tags_f, kind="stable")
        moved_tags, starts = np.unique(tags_f[order], return_index=True)
        ends = np.append(starts[1:], len(order)).tolist()
        for j, tag_id in enumerate(moved_tags.tolist()):
            bm = self._postings.get(tag_id)
            if bm is not None:
                part = order[starts[j] : ends[j]]
                bm = bm.copy()  # a new object: never edit a bitmap handed out before
                bm |= _bitmap(images_f[part][added_f[part]])
                bm -= _bitmap(images_f[part][~added_f[part]])
                self._postings[tag_id] = bm
        # Counts: exact for every counted tag, cached posting or not.
        delta = np.bincount(np.searchsorted(moved_tags, tags), weights=np.where(added, 1, -1))
        for tag_id, d in zip(moved_tags.tolist(), delta.astype(np.int64).tolist(), strict=True):
            if tag_id in self._postings:
                self._counts[tag_id] = len(self._postings[tag_id])
            elif tag_id in self._counts:
                self._counts[tag_id] += d
        # Leaves over tags: re-decide the images logged under one of their tags.
        moved = set(moved_tags.tolist())
        for leaf, ids in list(self._leaf_tags.items()):
            if ids.isdisjoint(moved):
                continue
            mine = _bitmap(images[np.isin(tags, list(ids))])
            bm = self._leaves[leaf] - mine
            bm |= BitMap.union(*(self._postings[t] & mine for t in ids))
            self._leaves[leaf] = bm
        untagged = self._leaves.get(_UNTAGGED)
        if untagged is not None:
            logged = _bitmap(images)
            tagged = _bitmap(images_f[added_f])  # gained a tag: surely tagged now
            tagged |= self._with_tags(logged - tagged)  # only lost some: any left?
            # A cached is:untagged implies a current universe (both go when images come or go).
            self._leaves[_UNTAGGED] = (untagged - logged) | ((logged - tagged) & self.universe())

    def _with_tags(self, images: BitMap) -> BitMap:
        """Those of ``images`` that have at least one effective tag now."""
        out = BitMap()
        ids = list(images)
        for start in range(0, len(ids), 500):  # well under SQLite's bound-parameter limit
            chunk = ids[start : start + 500]
            out |= self._ids(
                "SELECT group_concat(image_id) FROM (SELECT DISTINCT image_id FROM image_tags "
                f"WHERE image_id IN ({','.join('?' * len(chunk))}))", chunk)
        return out

    def _cursor(self) -> sqlite3.Cursor:
        assert self._raw is not None, "use the index inside snapshot()"
        return self._raw.driver_connection.cursor()

    # -- reading -----------------------------------------------------------------------------
    def _array(self, statement: str, params: dict[str, Any] | Sequence[Any] = ()) -> np.ndarray:
        """The integers ``statement`` returns as one ``group_concat``, in its order."""
        text = self._cursor().execute(statement, params).fetchone()[0]
        if not text:
            return np.zeros(0, dtype=np.uint32)
        # Parsing the text in C is several times faster than fetching one row per id.
        return np.fromstring(text, dtype=np.uint32, sep=",")

    def _ids(self, statement: str, params: dict[str, Any] | Sequence[Any] = ()) -> BitMap:
        """A bitmap of the integers ``statement`` returns as one ``group_concat``."""
        return _bitmap(self._array(statement, params))

    def universe(self) -> BitMap:
        """Every image id."""
        if self._universe is None:
            n, low, high = self._cursor().execute(
                "SELECT (SELECT count(*) FROM images), (SELECT min(id) FROM images), "
                "(SELECT max(id) FROM images)"
            ).fetchone()
            if not n:
                self._universe = BitMap()
            elif high - low + 1 == n:  # no gaps: the usual case, and instant
                self._universe = BitMap(range(low, high + 1))
            else:
                self._universe = self._ids("SELECT group_concat(id) FROM images")
        return self._universe

    def tags(self) -> list[TagRow]:
        if self._tags is None:
            rows = self._cursor().execute("SELECT id, category, name FROM tags ORDER BY id")
            self._tags = [(int(i), c, n) for i, c, n in rows]
        return self._tags

    def roots(self) -> list[sql.RootInfo]:
        if self._roots is None:
            rows = self._cursor().execute("SELECT id, path FROM roots ORDER BY id")
            self._roots = [(int(i), str(path)) for i, path in rows]
        return self._roots

    def postings(self, tag_id: int) -> BitMap:
        """The images that have ``tag_id`` among their effective tags."""
        bm = self._postings.get(tag_id)
        if bm is None:
            bm = self._ids("SELECT group_concat(image_id) FROM image_tags WHERE tag_id = ?",
                           (tag_id,))
            self._postings[tag_id] = bm
            self._counts[tag_id] = len(bm)
        return bm

    def tag_counts(self, tag_ids: Iterable[int]) -> dict[int, int]:
        """How many images have each tag (read from SQL only for tags not counted yet)."""
        ids = list(tag_ids)
        todo = [t for t in ids if t not in self._counts]
        cur = self._cursor()
        if len(todo) > 200:  # cheaper to count everything in one pass
            counts = dict(cur.execute("SELECT tag_id, count(*) FROM image_tags GROUP BY tag_id"))
            self._counts = {t: counts.get(t, 0) for t, _c, _n in self.tags()}
        elif todo:
            marks = ",".join("?" * len(todo))
            counts = dict(cur.execute(
                f"SELECT tag_id, count(*) FROM image_tags WHERE tag_id IN ({marks}) "
                "GROUP BY tag_id", todo))
            for t in todo:
                self._counts[t] = counts.get(t, 0)
        return {t: self._counts.get(t, 0) for t in ids}

    def path_order(self) -> np.ndarray:
        """Every image id, ordered by its first file: roots by path, then relpath, both
        ignoring ASCII case (images without files last, by id). Read from the relpath index."""
        if self._path_order is None:
            parts = [
                self._array(
                    "SELECT group_concat(image_id) FROM (SELECT image_id FROM files "
                    "WHERE root_id = ? AND image_id IS NOT NULL "
                    "ORDER BY relpath COLLATE NOCASE, image_id)", (root_id,))
                for (root_id,) in self._cursor().execute(
                    "SELECT id FROM roots ORDER BY lower(path), id").fetchall()
            ]
            ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint32)
            _unique, first = np.unique(ids, return_index=True)
            ordered = ids[np.sort(first)]  # an image goes where its first file does
            rest = self.universe() - _bitmap(ordered)
            self._path_order = np.concatenate([ordered, _numpy(rest)])
        return self._path_order

    def key_order(self, name: str) -> np.ndarray:
        """Every image id in the order ``KEY_ORDERS[name]`` (size, confidence...), images
        without the value last, by id."""
        order = self._key_orders.get(name)
        if order is None:
            statement, _domains = KEY_ORDERS[name]
            ordered = self._array(statement)
            rest = self.universe() - _bitmap(ordered)
            order = self._key_orders[name] = np.concatenate([ordered, _numpy(rest)])
        return order

    def in_path_order(self, matches: BitMap) -> np.ndarray:
        """``matches`` in :meth:`path_order`."""
        return self.in_order(matches, self.path_order())

    def in_order(self, matches: BitMap, order: np.ndarray) -> np.ndarray:
        """``matches`` in ``order`` (an array of every image id)."""
        if not matches or not len(order):
            return np.zeros(0, dtype=np.uint32)
        member = np.zeros(int(order.max()) + 1, dtype=bool)
        member[_numpy(matches)] = True
        return order[member[order]]

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, node: Node) -> BitMap:
        """The set of image ids ``node`` matches. The result may be a cached object: don't
        modify it (the index never does either: patches replace cached bitmaps)."""
        if isinstance(node, Everything):
            return self.universe()
        if isinstance(node, Not):
            return self.universe() - self.evaluate(node.child)
        if isinstance(node, Or):
            return BitMap.union(*(self.evaluate(c) for c in node.children))
        if isinstance(node, And):
            return self._conjunction(node.children)
        return self.leaf(node)

    def _conjunction(self, children: Sequence[Node]) -> BitMap:
        positive = [c for c in children if not isinstance(c, Not)]
        negative = [c.child for c in children if isinstance(c, Not)]
        # Cheap, usually selective parts first; stop as soon as nothing is left.
        positive.sort(key=lambda c: 0 if isinstance(c, TagTerm) else 1)
        result: BitMap | None = None
        for child in positive:
            part = self.evaluate(child)
            result = part if result is None else result & part
            if not result:
                return BitMap()
        if result is None:
            result = self.universe()
        for negated in negative:
            result = result - self.evaluate(negated)
            if not result:
                return BitMap()
        return result

    def leaf(self, leaf: Leaf) -> BitMap:
        bm = self._leaves.get(leaf)
        if bm is not None:
            self._leaves.move_to_end(leaf)
            return bm
        bm = self._build_leaf(leaf)
        self._leaves[leaf] = bm
        while len(self._leaves) > self._leaf_limit:
            self._drop_leaf(next(iter(self._leaves)))
        return bm

    def tag_ids(self, leaf: TagTerm) -> list[int]:
        p = sql.Params()
        statement = f"SELECT t.id FROM tags t WHERE {sql.tag_match(leaf, p)}"
        return [int(r[0]) for r in self._cursor().execute(statement, p.values)]

    def _build_leaf(self, leaf: Leaf) -> BitMap:
        if isinstance(leaf, TagTerm):
            ids = self.tag_ids(leaf)
            self._leaf_tags[leaf] = frozenset(ids)  # so tag changes can patch the leaf
            return BitMap.union(*(self.postings(t) for t in ids)) if ids else BitMap()
        if isinstance(leaf, SimilarTerm) and leaf.ranked is not None:  # found by the executor
            return self.universe() & BitMap(leaf.ranked)
        p = sql.Params()
        if isinstance(leaf, PathTerm) or (isinstance(leaf, Compare) and leaf.field == "size"):
            where = sql.file_predicate(leaf, p, self.roots())
            return self._ids("SELECT group_concat(f.image_id) FROM files f "
                             f"WHERE f.image_id IS NOT NULL AND {where}", p.values)
        if isinstance(leaf, IsTerm):
            if leaf.what == "unreviewed":
                return self.universe() - self._ids(
                    "SELECT group_concat(image_id) FROM labels WHERE source = 'user'")
            if leaf.what == "untagged":
                return self.universe() - self._ids(
                    "SELECT group_concat(image_id) FROM (SELECT DISTINCT image_id "
                    "FROM image_tags)")
            if leaf.what == "missing":
                return self._ids(
                    "SELECT group_concat(f.image_id) FROM files f WHERE f.status = 'missing' "
                    "AND f.image_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM files g "
                    "WHERE g.image_id = f.image_id AND g.status <> 'missing')")
        # Everything else reads columns of images; the same predicate the SQL path uses.
        where = sql.leaf_predicate(leaf, p, self.roots())
        return self._ids(f"SELECT group_concat(i.id) FROM images i WHERE {where}", p.values)


def _bitmap(values: np.ndarray) -> BitMap:
    return BitMap(array.array("I", values.astype(np.uint32, copy=False).tobytes()))


def _numpy(bm: BitMap) -> np.ndarray:
    return np.frombuffer(bm.to_array(), dtype=np.uint32)


# Orders by a key read from SQL: the statement (one group_concat of ids, in order; images
# without the key left out) and the generations whose move makes a cached order stale.
KEY_ORDERS: dict[str, tuple[str, frozenset[str]]] = {
    "size": (  # the image's largest file first
        "SELECT group_concat(image_id) FROM (SELECT image_id FROM files "
        "WHERE image_id IS NOT NULL GROUP BY image_id ORDER BY max(size) DESC, image_id)",
        frozenset({changes.IMAGES_ROWS, changes.FILES, changes.ROOTS})),
    "confidence": (  # the best character score first
        "SELECT group_concat(id) FROM (SELECT id FROM images WHERE char_score IS NOT NULL "
        "ORDER BY char_score DESC, id)",
        frozenset({changes.IMAGES_ROWS, changes.IMAGES_SCORE, changes.IMAGES_OTHER})),
    "least_confident": (
        "SELECT group_concat(id) FROM (SELECT id FROM images WHERE char_score IS NOT NULL "
        "ORDER BY char_score, id)",
        frozenset({changes.IMAGES_ROWS, changes.IMAGES_SCORE, changes.IMAGES_OTHER})),
}


def _depends_on(leaf: Leaf) -> frozenset[str]:
    """The generations whose move makes a cached ``leaf`` stale. (Tag-term leaves and
    is:untagged also follow ``image_tags``: patched from tag_changes, see _catch_up.)"""
    if isinstance(leaf, TagTerm):
        return frozenset({changes.TAGS})
    if isinstance(leaf, PathTerm) or (isinstance(leaf, Compare) and leaf.field == "size"):
        return frozenset({changes.FILES, changes.ROOTS})
    if isinstance(leaf, IsTerm):
        return frozenset({
            "unreviewed": {changes.IMAGES_ROWS, changes.LABELS},
            "untagged": {changes.IMAGES_ROWS},
            "missing": {changes.FILES},
        }.get(leaf.what, changes.DOMAINS))
    if isinstance(leaf, SimilarTerm):  # its ids are part of the leaf; only deletions matter
        return frozenset({changes.IMAGES_ROWS})
    if isinstance(leaf, Compare) and leaf.field in _COLUMNS:
        return frozenset({changes.IMAGES_ROWS, changes.IMAGES_OTHER, _COLUMNS[leaf.field]})
    return frozenset(changes.DOMAINS)  # anything new: any change may affect it
