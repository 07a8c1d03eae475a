"""The search language: parse a query, compile it to SQL, run it with paging and counts.

    from animesion_desktop.core.search import search, count, autocomplete, QueryError

    result = search(lib, "blue_hair -glasses width>=1920", limit=100)
    result.ids, result.total

The language is described in docs/search.md.
"""

from animesion_desktop.core.search.autocomplete import TagCount, autocomplete
from animesion_desktop.core.search.errors import QueryError
from animesion_desktop.core.search.executor import (
    ORDERS,
    SearchResult,
    count,
    index_for,
    search,
)
from animesion_desktop.core.search.parser import parse, searches_files
from animesion_desktop.core.search.sql import compile_query

__all__ = [
    "ORDERS",
    "QueryError",
    "SearchResult",
    "TagCount",
    "autocomplete",
    "compile_query",
    "count",
    "index_for",
    "parse",
    "search",
    "searches_files",
]
