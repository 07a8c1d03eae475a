"""``similar:ID`` terms: their neighbours are found before the query runs.

The nearest images come from the similar-image index of the pack the app compares with
(core/similar/index.py: the active pack with the most embeddings), so the SQL and the bitmaps
only match a fixed list of ids, and the executor can order a result by similarity.
"""

from __future__ import annotations

from animesion_desktop.core.library import Library, LibraryError
from animesion_desktop.core.search.errors import QueryError
from animesion_desktop.core.search.nodes import SIMILAR_K, And, Node, Not, Or, SimilarTerm
from animesion_desktop.core.search.parser import parse
from animesion_desktop.core.similar.index import default_pack, shared_index


def resolve(lib: Library, node: Node, query: str) -> tuple[Node, list[int] | None]:
    """``node`` with every ``similar:`` term's neighbours filled in, and the ranking of the
    top-level one (the order its result is shown in), or None if the top level has none."""
    if not _has_similar(node):
        return node, None
    resolved = _resolve(lib, node, query)
    top = resolved.children if isinstance(resolved, And) else (resolved,)
    for child in top:
        if isinstance(child, SimilarTerm) and child.ranked is not None:
            return resolved, list(child.ranked)
    return resolved, None


def shown_order(query: str, chosen: str) -> str:
    """The grid's order for ``query``: nearest first when its top level has a ``similar:``
    term (that is the point of asking), else the order the user chose."""
    try:
        node = parse(query)
    except QueryError:
        return chosen  # the search itself reports the error
    top = node.children if isinstance(node, And) else (node,)
    return "similarity" if any(isinstance(c, SimilarTerm) for c in top) else chosen


def _has_similar(node: Node) -> bool:
    if isinstance(node, SimilarTerm):
        return True
    if isinstance(node, (And, Or)):
        return any(_has_similar(c) for c in node.children)
    if isinstance(node, Not):
        return _has_similar(node.child)
    return False


def _resolve(lib: Library, node: Node, query: str) -> Node:
    if isinstance(node, SimilarTerm):
        try:
            ranked = ranked_neighbours(lib, node.image_id)
        except LibraryError as exc:
            raise QueryError(query, node.pos, f"similar:{node.image_id}: {exc}") from exc
        return SimilarTerm(node.image_id, tuple(i for i, _s in ranked), pos=node.pos)
    if isinstance(node, And):
        return And(tuple(_resolve(lib, c, query) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_resolve(lib, c, query) for c in node.children))
    if isinstance(node, Not):
        return Not(_resolve(lib, node.child, query), pos=node.pos)
    return node


def ranked_neighbours(lib: Library, image_id: int, k: int = SIMILAR_K
                      ) -> list[tuple[int, float]]:
    """(image id, cosine) of the ``k`` images nearest to ``image_id``, itself first (1.0)."""
    pack_id, pack = default_pack(lib)
    index = shared_index(lib, pack_id)
    vector = index.vector(image_id)
    if vector is None:
        raise LibraryError(f"image {image_id} has no embedding of pack {pack} (tag it first)")
    found = index.search(vector, k - 1, exclude=[image_id])
    return [(image_id, 1.0)] + [(n.image_id, n.score) for n in found]
