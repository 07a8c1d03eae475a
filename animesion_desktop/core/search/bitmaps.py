"""An in-memory bitmap index that answers searches by set algebra.

Each tag's image set is a roaring bitmap built lazily from ``image_tags`` (one read of the tag's
rows); any other term's image set is built once from SQL (the compiler's own predicates, so both
paths mean the same thing). AND, OR and NOT are then intersections, unions and differences, a
count is the size of the result and a page is a slice of it.

Everything is cached until the database changes: every operation first reads
``PRAGMA data_version`` on the index's own connection, which changes whenever another connection
commits, and drops every cache if it did. A query right after a change therefore pays for the
bitmaps it needs (see the cold figures of benchmarks/bench_search.py).
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
    TagTerm,
)

TagRow = tuple[int, str, str]  # (id, category, name)


class SearchIndex:
    """Bitmaps of one library. Thread-safe: one operation at a time, on its own connection."""

    def __init__(self, engine: Engine, leaf_cache: int = 256) -> None:
        self._engine = engine
        self._raw: Any = None  # a pooled DBAPI connection, checked out for the index's lifetime
        self._lock = threading.RLock()
        self._version: int | None = None
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
        self._path_order: np.ndarray | None = None

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
                    self._clear()
                    self._version = version
                yield self
            finally:
                con.rollback()

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

    def in_path_order(self, matches: BitMap) -> np.ndarray:
        """``matches`` in :meth:`path_order`."""
        order = self.path_order()
        if not matches or not len(order):
            return np.zeros(0, dtype=np.uint32)
        member = np.zeros(int(order.max()) + 1, dtype=bool)
        member[_numpy(matches)] = True
        return order[member[order]]

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, node: Node) -> BitMap:
        """The set of image ids ``node`` matches. The result may be a cached object: don't
        modify it."""
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
            self._leaves.popitem(last=False)
        return bm

    def tag_ids(self, leaf: TagTerm) -> list[int]:
        p = sql.Params()
        statement = f"SELECT t.id FROM tags t WHERE {sql.tag_match(leaf, p)}"
        return [int(r[0]) for r in self._cursor().execute(statement, p.values)]

    def _build_leaf(self, leaf: Leaf) -> BitMap:
        if isinstance(leaf, TagTerm):
            ids = self.tag_ids(leaf)
            return BitMap.union(*(self.postings(t) for t in ids)) if ids else BitMap()
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
