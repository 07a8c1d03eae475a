"""Compile a syntax tree to SQL with bound parameters.

Every value the user typed becomes a named parameter (``:p0``, ``:p1``, ...); none is ever
formatted into the SQL text. Predicates read the materialised effective tags (``image_tags``) and
``images.char_score`` — the one definition of effective tags — and every predicate is two-valued
(never NULL), so ``-term`` is exactly "every image the term does not match", as in the bitmaps.

The statements work on both a SQLAlchemy ``text()`` and a plain ``sqlite3`` cursor.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from animesion_desktop.core.search.nodes import (
    And,
    Compare,
    DuplicateTerm,
    Everything,
    IsTerm,
    Leaf,
    Node,
    Not,
    Or,
    PathTerm,
    SimilarTerm,
    SuggestedTerm,
    TagTerm,
)
from animesion_desktop.core.search.parser import searches_files

# A root as the compiler needs it: (id, path). Knowing the roots lets a path: pattern with a
# literal beginning use the relpath index instead of building every file's full path.
RootInfo = tuple[int, str]
_OPS = {">=": ">=", "<=": "<=", ">": ">", "<": "<", "=": "="}
_IMAGE_COLUMNS = {"width": "i.width", "height": "i.height", "score": "i.char_score"}


@dataclass
class Params:
    """Collects bound parameters and hands out their placeholders."""

    values: dict[str, Any] = field(default_factory=dict)

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"


def compile_query(
    node: Node, roots: Sequence[RootInfo] | None = None, *, extra: str = ""
) -> tuple[str, dict[str, Any]]:
    """``SELECT id ...`` of everything ``node`` matches: image ids (``images i``), or for a
    top-level ``is:error`` the ids of unreadable files (``files f``). ``extra`` adds columns.
    Returns the SQL and its parameters."""
    p = Params()
    extra = f", {extra}" if extra else ""
    if searches_files(node):
        where = error_file_predicate(node, p, roots)
        return f"SELECT f.id AS id{extra} FROM files f WHERE {where}", p.values
    where = image_predicate(node, p, roots)
    return f"SELECT i.id AS id{extra} FROM images i WHERE {where}", p.values


# -- images ------------------------------------------------------------------------------------
def image_predicate(node: Node, p: Params, roots: Sequence[RootInfo] | None = None) -> str:
    """A boolean SQL expression over ``images i``."""
    if isinstance(node, Everything):
        return "1"
    if isinstance(node, And):
        return "(" + " AND ".join(image_predicate(c, p, roots) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(image_predicate(c, p, roots) for c in node.children) + ")"
    if isinstance(node, Not):
        return f"NOT {image_predicate(node.child, p, roots)}"
    return leaf_predicate(node, p, roots)


def leaf_predicate(leaf: Leaf, p: Params, roots: Sequence[RootInfo] | None = None) -> str:
    if isinstance(leaf, TagTerm):
        return (
            "EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = i.id AND it.tag_id IN "
            f"(SELECT t.id FROM tags t WHERE {tag_match(leaf, p)}))"
        )
    if isinstance(leaf, Compare):
        if leaf.field == "size":
            return ("EXISTS (SELECT 1 FROM files f WHERE f.image_id = i.id AND "
                    f"{file_predicate(leaf, p, roots)})")
        return compare_predicate(leaf, p)
    if isinstance(leaf, PathTerm):
        return ("EXISTS (SELECT 1 FROM files f WHERE f.image_id = i.id AND "
                f"{file_predicate(leaf, p, roots)})")
    if isinstance(leaf, IsTerm):
        if leaf.what == "unreviewed":
            return ("NOT EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id "
                    "AND l.source = 'user')")
        if leaf.what == "untagged":
            return "NOT EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = i.id)"
        if leaf.what == "duplicate":  # near-duplicate groups: core/similar/duplicates.py
            # another member must still exist: a group can shrink when images are deleted
            return ("EXISTS (SELECT 1 FROM image_phash d JOIN image_phash e "
                    "ON e.dup_group = d.dup_group AND e.image_id <> d.image_id "
                    "WHERE d.image_id = i.id)")
        if leaf.what == "missing":
            return ("(EXISTS (SELECT 1 FROM files f WHERE f.image_id = i.id) AND NOT EXISTS "
                    "(SELECT 1 FROM files f WHERE f.image_id = i.id AND f.status <> 'missing'))")
        # is:error below the top level is refused by the parser; unreadable files have no image.
        raise ValueError("is:error is only allowed as a top-level term")
    if isinstance(leaf, DuplicateTerm):
        return ("i.id IN (SELECT b.image_id FROM image_phash a JOIN image_phash b "
                f"ON b.dup_group = a.dup_group WHERE a.image_id = {p(leaf.image_id)})")
    if isinstance(leaf, SuggestedTerm):  # core/similar/suggestions.py; decided ones drop out
        match = (f"t.name GLOB {p(glob_pattern(leaf.name))}" if "*" in leaf.name
                 else f"t.name = {p(leaf.name)}")
        if leaf.source is not None:
            match += f" AND s.source = {p(leaf.source)}"
        return ("EXISTS (SELECT 1 FROM suggestions s JOIN tags t ON t.id = s.tag_id "
                f"WHERE s.image_id = i.id AND {match} AND NOT EXISTS (SELECT 1 FROM labels l "
                "WHERE l.image_id = s.image_id AND l.tag_id = s.tag_id))")
    if isinstance(leaf, SimilarTerm):  # neighbours found by the executor (core/search/similar)
        if leaf.ranked is None:
            raise ValueError("similar: terms are resolved by the executor before compiling")
        ids = "[" + ",".join(str(int(i)) for i in leaf.ranked) + "]"
        return f"i.id IN (SELECT value FROM json_each({p(ids)}))"
    raise TypeError(f"not a search leaf: {leaf!r}")


def tag_match(leaf: TagTerm, p: Params, t: str = "t") -> str:
    """A condition on ``tags t`` selecting the tags a tag term names."""
    if leaf.wildcard:
        cond = f"{t}.name GLOB {p(glob_pattern(leaf.name))}"
    else:
        cond = f"{t}.name = {p(leaf.name)}"
    if leaf.category is not None:
        cond += f" AND {t}.category = {p(leaf.category)}"
    return cond


def compare_predicate(leaf: Compare, p: Params) -> str:
    op = _OPS[leaf.op]
    if leaf.field == "ratio":
        # Ratios compare rounded to two decimals, so ratio=16:9 matches 1920x1080 (1.78).
        return ("(i.width IS NOT NULL AND i.height IS NOT NULL AND i.width > 0 AND i.height > 0 "
                f"AND round(CAST(i.width AS REAL) / i.height, 2) {op} {p(leaf.value)})")
    column = _IMAGE_COLUMNS[leaf.field]
    value: float | int = leaf.value if leaf.field == "score" else int(leaf.value)
    return f"({column} IS NOT NULL AND {column} {op} {p(value)})"


# -- files -------------------------------------------------------------------------------------
def file_predicate(node: Node, p: Params, roots: Sequence[RootInfo] | None = None,
                   f: str = "f") -> str:
    """A boolean SQL expression over ``files f`` for path: and size terms (and their and/or/not)."""
    if isinstance(node, And):
        return "(" + " AND ".join(file_predicate(c, p, roots, f) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(file_predicate(c, p, roots, f) for c in node.children) + ")"
    if isinstance(node, Not):
        return f"NOT {file_predicate(node.child, p, roots, f)}"
    if isinstance(node, Compare) and node.field == "size":
        return f"{f}.size {_OPS[node.op]} {p(int(node.value))}"
    if isinstance(node, PathTerm):
        return path_predicate(node.glob, p, roots, f)
    raise ValueError(f"{node!r} is not a file condition")


def error_file_predicate(node: Node, p: Params, roots: Sequence[RootInfo] | None = None) -> str:
    top = node.children if isinstance(node, And) else (node,)
    rest = [c for c in top if not (isinstance(c, IsTerm) and c.what == "error")]
    conds = ["f.status = 'error'"] + [file_predicate(c, p, roots) for c in rest]
    return " AND ".join(conds)


def full_path_sql(root_path: str, relpath: str) -> str:
    """SQL for a file's full path: its root's path, the platform's separator, its relpath."""
    return f"rtrim({root_path}, '{os.sep}') || '{os.sep}' || {relpath}"


def normalize_root(path: str) -> str:
    """What :func:`full_path_sql` makes of a root's path, before the relpath."""
    return path.rstrip(os.sep) + os.sep


def path_predicate(glob: str, p: Params, roots: Sequence[RootInfo] | None, f: str = "f") -> str:
    """``path:GLOB`` on one file: the glob matches its relpath or its full path.

    Case-insensitive (SQLite LIKE: ASCII letters only); ``*`` any characters including
    separators, ``?`` one character; ``/`` and ``\\`` both mean the platform's separator.
    """
    glob = glob.replace("/", os.sep).replace("\\", os.sep)
    like = p(like_pattern(glob))
    alternatives = [f"{f}.relpath LIKE {like} ESCAPE '\\'"]
    if roots is None:
        alternatives.append(
            f"EXISTS (SELECT 1 FROM roots r WHERE r.id = {f}.root_id AND "
            f"{full_path_sql('r.path', f'{f}.relpath')} LIKE {like} ESCAPE '\\')"
        )
        return "(" + " OR ".join(alternatives) + ")"
    # Knowing the roots, match the full path root by root: a pattern that spells out a root's
    # path becomes a relpath pattern for that root (the index can serve it); a root the pattern
    # cannot begin with needs no full-path test at all.
    literal = _literal_prefix(glob)
    for root_id, root_path in roots:
        prefix = normalize_root(root_path)
        if len(literal) >= len(prefix):
            if _like_equal(literal[: len(prefix)], prefix):
                alternatives.append(
                    f"({f}.root_id = {p(root_id)} AND {f}.relpath LIKE "
                    f"{p(like_pattern(glob[len(prefix):]))} ESCAPE '\\')"
                )
        elif _like_equal(literal, prefix[: len(literal)]):
            alternatives.append(
                f"({f}.root_id = {p(root_id)} AND ({p(prefix)} || {f}.relpath) LIKE {like} "
                "ESCAPE '\\')"
            )
    return "(" + " OR ".join(alternatives) + ")"


def like_pattern(glob: str) -> str:
    """A glob (``*``, ``?``) as a LIKE pattern with ``\\`` as the escape character."""
    out = []
    for c in glob:
        if c == "*":
            out.append("%")
        elif c == "?":
            out.append("_")
        elif c in "%_\\":
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def glob_pattern(name: str) -> str:
    """A tag pattern (only ``*`` is special) as an SQLite GLOB pattern."""
    return "".join("[?]" if c == "?" else "[[]" if c == "[" else c for c in name)


def _literal_prefix(glob: str) -> str:
    for i, c in enumerate(glob):
        if c in "*?":
            return glob[:i]
    return glob


def _like_equal(a: str, b: str) -> bool:
    """Equality as LIKE sees literal characters: ASCII letters ignore case, others do not."""
    if len(a) != len(b):
        return False
    return all(x == y or (x.isascii() and y.isascii() and x.lower() == y.lower())
               for x, y in zip(a, b, strict=True))
