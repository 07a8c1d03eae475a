"""What the sidebar shows: the roots as folder trees with image counts, tags by category.

A folder's count is the number of distinct images with a readable file in it or below it.
The query a folder stands for is a ``path:`` term on its full path, quoted when needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy import text

from animesion_desktop.core.library import Library


@dataclass
class FolderNode:
    name: str
    path: str  # full path
    root_id: int
    count: int = 0  # distinct images with a readable file here or below
    children: dict[str, FolderNode] = field(default_factory=dict)

    def query(self) -> str:
        return path_term(self.path)


def path_term(folder: str) -> str:
    """``path:`` for every file under ``folder`` (quoted if it holds a space or an operator)."""
    pattern = folder.rstrip(os.sep) + os.sep + "*"
    if any(c in pattern for c in ' ()|"-'):
        return 'path:"' + pattern.replace('"', "") + '"'
    return f"path:{pattern}"


# Every (folder, image) pair, each file's folder and all the folders above it, counted in SQLite:
# a library of 100,000 files yields a row per folder, not per file. (The tree was once built in
# Python from every file row: seconds of work holding the interpreter lock, which the window's
# first scroll then waited for.) rtrim(p, replace(p, '/', '')) is p up to its last '/'.
_FOLDER_COUNTS = text("""
    WITH RECURSIVE up(root_id, dir, image_id) AS (
        SELECT root_id, rtrim(relpath, replace(relpath, '/', '')), image_id
          FROM files WHERE status = 'ok' AND image_id IS NOT NULL
        UNION ALL
        SELECT root_id, rtrim(substr(dir, 1, length(dir) - 1),
                              replace(substr(dir, 1, length(dir) - 1), '/', '')), image_id
          FROM up WHERE dir != ''
    )
    SELECT root_id, dir, count(DISTINCT image_id) FROM up GROUP BY root_id, dir""")


def folder_trees(lib: Library) -> list[FolderNode]:
    """One tree per root, each folder with its count of distinct images."""
    with lib.read() as s:
        roots = {int(i): str(p) for i, p in s.execute(text("SELECT id, path FROM roots ORDER BY path"))}
        trees = {i: FolderNode(os.path.basename(p.rstrip(os.sep)) or p, p, i)
                 for i, p in roots.items()}
        counts = sorted((int(r), str(d), int(n)) for r, d, n in s.execute(_FOLDER_COUNTS))
    for root_id, folder, n in counts:  # parents sort before their children
        node = trees[root_id]
        for part in folder.split("/")[:-1]:
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = FolderNode(part, node.path.rstrip(os.sep)
                                                         + os.sep + part, node.root_id)
            node = child
        node.count = n
    return list(trees.values())


def tags_by_category(lib: Library, per_category: int = 40) -> dict[str, list[tuple[str, int]]]:
    """The most used effective tags of each category, with their image counts."""
    with lib.read() as s:
        rows = s.execute(text("""
            SELECT category, name, n FROM (
                SELECT t.category, t.name, count(*) AS n,
                       row_number() OVER (PARTITION BY t.category ORDER BY count(*) DESC, t.name)
                         AS k
                  FROM image_tags it JOIN tags t ON t.id = it.tag_id
                 GROUP BY it.tag_id)
             WHERE k <= :k ORDER BY category, n DESC, name"""), {"k": per_category})
        out: dict[str, list[tuple[str, int]]] = {}
        for category, name, n in rows:
            out.setdefault(str(category), []).append((str(name), int(n)))
    order = ["character", "copyright", "artist", "general", "meta", "rating"]
    return {c: out[c] for c in sorted(out, key=lambda c: order.index(c) if c in order else 9)}
