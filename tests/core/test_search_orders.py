"""The grid's sort orders: by file size and by character confidence, the bitmap index agreeing
with plain SQL, pages consistent, and a changed score re-sorting the next search."""

from __future__ import annotations

from pathlib import Path

import library_kit
import pytest
from sqlalchemy import text

from animesion_desktop.core.library import Library
from animesion_desktop.core.search import search
from animesion_desktop.core.search.executor import ORDERS


@pytest.fixture
def scored(lib: Library, tmp_path: Path) -> tuple[Library, list[int]]:
    root = tmp_path / "pics"
    root.mkdir()
    root_id = lib.add_root(root)
    sizes = [300, 100, 900, 100, 500, 700]
    ids = library_kit.add_images(lib, root_id, [dict(size=n, tags=["x"]) for n in sizes])
    scores = [0.2, None, 0.9, 0.5, None, 0.5]
    lib.write(lambda s: [s.execute(text("UPDATE images SET char_score = :v WHERE id = :i"),
                                   {"v": v, "i": i}) for i, v in zip(ids, scores, strict=True)])
    return lib, ids


def both(lib: Library, query: str, order: str, **kw: int | None) -> list[int]:
    by_index = search(lib, query, order=order, **kw).ids  # type: ignore[arg-type]
    by_sql = search(lib, query, order=order, index=False, **kw).ids  # type: ignore[arg-type]
    assert by_index == by_sql, (query, order, kw)
    return by_index


def test_size_and_confidence_orders(scored) -> None:
    lib, ids = scored
    a, b, c, d, e, f = ids
    assert both(lib, "", "size", limit=None) == [c, f, e, a, b, d]  # ties by id
    assert both(lib, "", "confidence", limit=None) == [c, d, f, a, b, e]  # unscored last
    assert both(lib, "", "least_confident", limit=None) == [a, d, f, c, b, e]
    assert both(lib, "x", "size", limit=2, offset=2) == [e, a]
    assert both(lib, f"-path:img/{c}.png", "confidence", limit=None) == [d, f, a, b, e]
    # the cached order follows a changed score
    lib.write(lambda s: s.execute(text("UPDATE images SET char_score = 0.99 WHERE id = :i"),
                                  {"i": e}))
    assert both(lib, "", "confidence", limit=3) == [e, c, d]
    assert {"size", "confidence", "least_confident"} <= set(ORDERS)
