"""The syntax tree a query parses into. Leaves compare equal regardless of where they were typed
(``pos`` is for error messages only), so caches can key on them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Union

# Comparison fields and what they read.
FIELDS = ("width", "height", "score", "size", "ratio")
OPERATORS = (">=", "<=", ">", "<", "=")
# is: terms. "error" switches the search to unreadable files (see docs/search.md).
IS_TERMS = ("unreviewed", "untagged", "missing", "error", "duplicate")


@dataclass(frozen=True)
class TagTerm:
    """A tag name (or a pattern with ``*``), optionally restricted to one category."""

    name: str
    category: str | None = None
    pos: int = dataclasses.field(default=0, compare=False)

    @property
    def wildcard(self) -> bool:
        return "*" in self.name


@dataclass(frozen=True)
class Compare:
    field: str  # one of FIELDS
    op: str  # one of OPERATORS
    value: float
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class IsTerm:
    what: str  # one of IS_TERMS
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class DuplicateTerm:
    """``duplicate:ID``: the images in the near-duplicate group of image ID (itself included)."""

    image_id: int
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class SuggestedTerm:
    """``suggested:NAME``: images a name is proposed for (few-shot head or a named cluster's
    propagation) and not yet decided; ``*`` is a wildcard. ``fewshot:NAME`` and
    ``propagation:NAME`` take only that source's suggestions (``source``)."""

    name: str
    source: str | None = None
    pos: int = dataclasses.field(default=0, compare=False)


# Keys of suggestion terms -> the source they select (None: any).
SUGGESTION_KEYS = {"suggested": None, "fewshot": "fewshot", "propagation": "propagation"}
SIMILAR_K = 100  # images a similar:ID term matches (the image itself among them)


@dataclass(frozen=True)
class SimilarTerm:
    """``similar:ID``: the :data:`SIMILAR_K` images nearest to image ID by the pack's embedding
    (itself first). The executor finds them before the query runs and fills ``ranked`` (ids,
    best first), which the SQL and the bitmaps then match; a query whose top level has one is
    ordered by it."""

    image_id: int
    ranked: tuple[int, ...] | None = None
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class PathTerm:
    glob: str  # as typed, with / or \ as separators
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    child: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Everything:
    """The empty query: every image."""


Leaf = Union[TagTerm, Compare, IsTerm, PathTerm, DuplicateTerm, SuggestedTerm,
             SimilarTerm]
Node = Union[Leaf, Not, And, Or, Everything]


def leaves(node: Node) -> list[Leaf]:
    """Every leaf of ``node``, left to right."""
    if isinstance(node, (And, Or)):
        return [leaf for child in node.children for leaf in leaves(child)]
    if isinstance(node, Not):
        return leaves(node.child)
    if isinstance(node, Everything):
        return []
    return [node]


def to_text(node: Node) -> str:
    """The query written back in canonical form (fully parenthesised); for logs and tests."""
    if isinstance(node, Everything):
        return ""
    if isinstance(node, TagTerm):
        return f"{node.category}:{node.name}" if node.category else node.name
    if isinstance(node, Compare):
        value = int(node.value) if node.field in ("width", "height", "size") else node.value
        return f"{node.field}{node.op}{value}"
    if isinstance(node, IsTerm):
        return f"is:{node.what}"
    if isinstance(node, DuplicateTerm):
        return f"duplicate:{node.image_id}"
    if isinstance(node, SuggestedTerm):
        return f"{node.source or 'suggested'}:{node.name}"
    if isinstance(node, SimilarTerm):
        return f"similar:{node.image_id}"
    if isinstance(node, PathTerm):
        return f'path:"{node.glob}"' if " " in node.glob else f"path:{node.glob}"
    if isinstance(node, Not):
        return f"-{to_text(node.child)}"
    if isinstance(node, And):
        return "(" + " ".join(to_text(c) for c in node.children) + ")"
    return "(" + " | ".join(to_text(c) for c in node.children) + ")"
