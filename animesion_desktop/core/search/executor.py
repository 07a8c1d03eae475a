"""Run a query: a page of ids in the order asked for, and the total count.

Two paths give the same answers (tests compare them on random libraries):

- the bitmap index (default): the whole result set as a roaring bitmap, so the count is its
  size and a page newest/oldest first is a slice of it — microseconds once the bitmaps exist;
- plain SQL (``index=False``, and always for ``is:error`` file searches): the compiled
  statement with ``ORDER BY ... LIMIT``, and ``count(*)`` for the total.

"Newest" is the order images entered the library: image ids are given out in that order.
"Similarity" (the default of a query with a top-level ``similar:ID`` term) is that term's
order: nearest first (core/search/neighbours.py finds them before the query runs).
"""

from __future__ import annotations

import random
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from pyroaring import BitMap
from sqlalchemy import text
from sqlalchemy.orm import Session

from animesion_desktop.core.library import Library
from animesion_desktop.core.search import neighbours, sql
from animesion_desktop.core.search.bitmaps import KEY_ORDERS, SearchIndex
from animesion_desktop.core.search.nodes import Node, to_text
from animesion_desktop.core.search.parser import parse, searches_files

ORDERS = ("newest", "oldest", "path", "random", "size", "confidence", "least_confident",
          "similarity")

_INDEXES: weakref.WeakKeyDictionary[Library, SearchIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


@dataclass(frozen=True)
class SearchResult:
    ids: list[int]  # one page, in the order asked for
    total: int  # how many match in all
    kind: str = "images"  # "files" for an is:error search: ids are file ids

    def __len__(self) -> int:
        return len(self.ids)


def index_for(lib: Library) -> SearchIndex:
    """The bitmap index of ``lib`` (one per open Library, made on first use)."""
    with _INDEXES_LOCK:
        index = _INDEXES.get(lib)
        if index is None:
            index = _INDEXES[lib] = SearchIndex(lib.engine)
        return index


def search(
    lib: Library,
    query: str | Node,
    *,
    limit: int | None = 100,
    offset: int = 0,
    order: str | None = None,
    seed: int | None = None,
    index: bool = True,
) -> SearchResult:
    """One page (``limit`` ids from ``offset``; ``limit=None`` for all) and the total.

    ``order``: newest | oldest (when added to the library), path (by the image's first file:
    roots by path, then the path inside the root, ignoring case), random (``seed`` makes the
    pages of one random order consistent), size (largest file first), confidence / least_confident
    (by the best character score; images without one last), similarity (nearest first; needs a
    top-level ``similar:ID`` term). None: similarity for such a query, else newest.
    """
    node, ranking = _prepare(lib, query)
    if order is None:
        order = "newest" if ranking is None else "similarity"
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
    if offset < 0 or (limit is not None and limit < 0):
        raise ValueError("limit and offset must not be negative")
    if order == "similarity" and ranking is None:
        raise ValueError("order similarity needs a similar:ID term at the top of the query")
    if searches_files(node):
        return _search_files(lib, node, limit, offset, order, seed)
    if ranking is not None and order == "similarity":
        found = set(_all_ids(lib, node, index))
        ranked = [i for i in ranking if i in found]
        end = len(ranked) if limit is None else offset + limit
        return SearchResult(ranked[offset:end], len(found))
    if index:
        ix = index_for(lib)
        with ix.snapshot():
            matches = ix.evaluate(node)
            if order == "path" or order in KEY_ORDERS:
                every = ix.path_order() if order == "path" else ix.key_order(order)
                ordered = ix.in_order(matches, every)
                end = len(ordered) if limit is None else offset + limit
                return SearchResult([int(i) for i in ordered[offset:end]], len(matches))
            return SearchResult(_page(matches, limit, offset, order, seed), len(matches))
    with lib.read() as s:
        select, params = sql.compile_query(node, _roots(s))
        total = int(s.execute(text(f"SELECT count(*) FROM ({select})"), params).scalar_one())
    return SearchResult(_sql_page(lib, node, limit, offset, order, seed), total)


def _prepare(lib: Library, query: str | Node) -> tuple[Node, list[int] | None]:
    """The tree to run (similar: terms resolved) and the similarity ranking, if any."""
    node = parse(query) if isinstance(query, str) else query
    return neighbours.resolve(lib, node, query if isinstance(query, str) else to_text(node))


def _all_ids(lib: Library, node: Node, index: bool) -> list[int]:
    if index:
        ix = index_for(lib)
        with ix.snapshot():
            return [int(i) for i in ix.evaluate(node)]
    return _sql_page(lib, node, None, 0, "oldest", None)


def count(lib: Library, query: str | Node, *, index: bool = True) -> int:
    """How many images (or, for ``is:error``, files) match."""
    node, _ranking = _prepare(lib, query)
    if index and not searches_files(node):
        ix = index_for(lib)
        with ix.snapshot():
            return len(ix.evaluate(node))
    with lib.read() as s:
        select, params = sql.compile_query(node, _roots(s))
        return int(s.execute(text(f"SELECT count(*) FROM ({select})"), params).scalar_one())


def _roots(session: Session) -> list[sql.RootInfo]:
    return [(int(i), str(p)) for i, p in session.execute(text("SELECT id, path FROM roots"))]


def _page(matches: BitMap | list[int], limit: int | None, offset: int, order: str,
          seed: int | None) -> list[int]:
    """A page of ``matches`` (ascending ids) in ``order`` (newest, oldest or random)."""
    n = len(matches)
    end = n if limit is None else min(n, offset + limit)
    if offset >= end:
        return []
    if order == "newest":
        return list(reversed(list(matches[n - end : n - offset])))
    if order == "oldest":
        return list(matches[offset:end])
    positions = random.Random(seed).sample(range(n), end)[offset:]
    return [int(matches[p]) for p in positions]


# The path order: roots by path, then relpath, ignoring ASCII case (lower() and NOCASE fold the
# same letters); char(1) sorts below every character, so a shorter root comes first.
_PATH_KEY = (
    "(SELECT min(lower(pr.path) || char(1) || lower(pf.relpath)) FROM files pf "
    "JOIN roots pr ON pr.id = pf.root_id WHERE pf.{link})"
)


# The SQL path's key orders (KEY_ORDERS in bitmaps.py for the index): a (id, v) subquery.
_SQL_KEYS = {
    "size": ("SELECT image_id AS id, max(size) AS v FROM files WHERE image_id IS NOT NULL "
             "GROUP BY image_id", "DESC"),
    "confidence": ("SELECT id, char_score AS v FROM images", "DESC"),
    "least_confident": ("SELECT id, char_score AS v FROM images", "ASC"),
}
_FILE_KEYS = {"size": "SELECT id, size AS v FROM files"}


def _sql_page(lib: Library, node: Node, limit: int | None, offset: int, order: str,
              seed: int | None) -> list[int]:
    with lib.read() as s:
        roots = _roots(s)
        if order == "path":
            link = "id = f.id" if searches_files(node) else "image_id = i.id"
            select, params = sql.compile_query(node, roots,
                                               extra=f"{_PATH_KEY.format(link=link)} AS k")
        else:
            select, params = sql.compile_query(node, roots)
        if order == "random":
            ids = [int(r[0]) for r in s.execute(text(f"{select} ORDER BY 1"), params)]
            return _page(ids, limit, offset, order, seed)
        bounds: dict[str, Any] = {"_limit": -1 if limit is None else limit, "_offset": offset}
        if order == "path":
            statement = (f"SELECT id FROM ({select}) ORDER BY k IS NULL, k, id "
                         "LIMIT :_limit OFFSET :_offset")
        elif order in _SQL_KEYS:
            key, direction = _SQL_KEYS[order]
            if searches_files(node):  # file ids: their own size; no score to sort by
                key = _FILE_KEYS.get(order, "SELECT id, NULL AS v FROM files")
            statement = (f"SELECT q.id FROM ({select}) q LEFT JOIN ({key}) k "
                         f"ON k.id = q.id ORDER BY k.v IS NULL, k.v {direction}, q.id "
                         "LIMIT :_limit OFFSET :_offset")
        else:
            direction = "DESC" if order == "newest" else "ASC"
            statement = f"{select} ORDER BY 1 {direction} LIMIT :_limit OFFSET :_offset"
        return [int(r[0]) for r in s.execute(text(statement), {**params, **bounds})]


def _search_files(lib: Library, node: Node, limit: int | None, offset: int, order: str,
                  seed: int | None) -> SearchResult:
    with lib.read() as s:
        select, params = sql.compile_query(node, _roots(s))
        total = int(s.execute(text(f"SELECT count(*) FROM ({select})"), params).scalar_one())
    return SearchResult(_sql_page(lib, node, limit, offset, order, seed), total, "files")
