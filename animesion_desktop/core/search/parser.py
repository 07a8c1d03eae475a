"""Parse a query into a syntax tree (``nodes.py``).

Grammar (juxtaposition is AND; ``|`` binds tighter, so ``a b | c`` is ``a AND (b OR c)``)::

    query  := and? END
    and    := or or*
    or     := unary ("|" unary)*
    unary  := "-" unary | atom
    atom   := "(" and ")" | WORD

A WORD is a comparison (``width>=1920``, also ``width:>=1920``), an ``is:`` term, a ``path:``
glob, a ``category:name`` tag or a plain tag name; ``*`` in a tag name is a wildcard.
"""

from __future__ import annotations

import re
from typing import NoReturn

from animesion_desktop.core.library.schema import CATEGORIES
from animesion_desktop.core.library.tags import normalize_name
from animesion_desktop.core.search.errors import QueryError
from animesion_desktop.core.search.lexer import Kind, Token, tokenize
from animesion_desktop.core.search.nodes import (
    FIELDS,
    IS_TERMS,
    SUGGESTION_KEYS,
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
    leaves,
)

_COMPARISON = re.compile(r"(width|height|score|size|ratio)(>=|<=|>|<|=)(.*)\Z", re.I | re.S)
_KEYED = re.compile(r"([A-Za-z_]+):(.*)\Z", re.S)
_OPERATOR = re.compile(r"(>=|<=|>|<|=)?")
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_SIZE = re.compile(rf"({_NUMBER})\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\Z", re.I)
_RATIO = re.compile(rf"({_NUMBER})(?:\s*[:/]\s*({_NUMBER}))?\Z")
_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse(query: str) -> Node:
    """The syntax tree of ``query``; raises :class:`QueryError` naming the position if malformed."""
    return _Parser(query).parse()


def searches_files(node: Node) -> bool:
    """True if the query asks for unreadable files (a top-level ``is:error``), not images."""
    top = node.children if isinstance(node, And) else (node,)
    return any(isinstance(c, IsTerm) and c.what == "error" for c in top)


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    # -- helpers ----------------------------------------------------------------------------
    def error(self, pos: int, reason: str) -> NoReturn:
        raise QueryError(self.query, pos, reason)

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    # -- structure --------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.peek().kind is Kind.END:
            return Everything()
        node = _simplify(self.conjunction(None))
        self.check_error_terms(node)
        return node

    def conjunction(self, opening: Token | None) -> Node:
        items: list[Node] = []
        while True:
            token = self.peek()
            if token.kind is Kind.END:
                if opening is not None:
                    self.error(opening.pos, "unclosed parenthesis")
                break
            if token.kind is Kind.RPAREN:
                if opening is None:
                    self.error(token.pos, "unmatched ')'")
                break
            items.append(self.disjunction())
        if not items:
            assert opening is not None  # an empty query never gets here
            self.error(opening.pos, "empty parentheses")
        return items[0] if len(items) == 1 else And(tuple(items))

    def disjunction(self) -> Node:
        items = [self.unary()]
        while self.peek().kind is Kind.OR:
            bar = self.take()
            if self.peek().kind in (Kind.END, Kind.RPAREN, Kind.OR):
                self.error(bar.pos, "'|' needs a term after it")
            items.append(self.unary())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def unary(self) -> Node:
        token = self.peek()
        if token.kind is Kind.NOT:
            self.take()
            if self.peek().kind in (Kind.END, Kind.RPAREN, Kind.OR):
                self.error(token.pos, "'-' needs a term after it")
            return Not(self.unary(), pos=token.pos)
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind is Kind.LPAREN:
            node = self.conjunction(token)
            self.take()  # the closing parenthesis
            return node
        if token.kind is Kind.WORD:
            return self.term(token)
        if token.kind is Kind.OR:
            self.error(token.pos, "'|' needs a term before it")
        self.error(token.pos, "expected a term")  # pragma: no cover - callers check first

    # -- terms ------------------------------------------------------------------------------
    def term(self, token: Token) -> Leaf:
        text = token.text
        m = _COMPARISON.match(text)
        if m:
            return self.comparison(token, m.group(1).lower(), m.group(2), m.start(3))
        m = _KEYED.match(text)
        if m:
            key, rest, at = m.group(1).lower(), m.group(2), m.start(2)
            if key == "is":
                what = rest.strip().lower()
                if what not in IS_TERMS:
                    known = ", ".join(f"is:{t}" for t in IS_TERMS)
                    reason = (f"unknown is: term {rest!r} (known: {known})" if what
                              else f"is: needs one of {known}")
                    self.error(token.offset(at), reason)
                return IsTerm(what, pos=token.pos)
            if key == "duplicate":
                if not rest.strip().isdigit():
                    self.error(token.offset(at), "duplicate: needs an image id, like duplicate:42")
                return DuplicateTerm(int(rest.strip()), pos=token.pos)
            if key in SUGGESTION_KEYS:
                name = re.sub(r"\*+", "*", normalize_name(rest))
                if not name:
                    self.error(token.offset(at), f"{key}: needs a name, like {key}:my_oc")
                return SuggestedTerm(name, SUGGESTION_KEYS[key], pos=token.pos)
            if key == "similar":
                if not rest.strip().isdigit():
                    self.error(token.offset(at), "similar: needs an image id, like similar:42")
                return SimilarTerm(int(rest.strip()), pos=token.pos)
            if key == "path":
                if not rest.strip():
                    self.error(token.offset(at), "path: needs a pattern, like path:wallpapers/*")
                return PathTerm(rest, pos=token.pos)
            if key in CATEGORIES:
                return self.tag(token, rest, key, at)
            if key in FIELDS:  # Danbooru style: width:>=1920, width:1920
                op = _OPERATOR.match(rest)
                assert op is not None
                return self.comparison(token, key, op.group(1) or "=", at + op.end())
        return self.tag(token, text, None, 0)

    def tag(self, token: Token, text: str, category: str | None, at: int) -> TagTerm:
        name = re.sub(r"\*+", "*", normalize_name(text))
        if not name:
            self.error(token.offset(at), "empty tag name")
        return TagTerm(name, category, pos=token.pos)

    def comparison(self, token: Token, name: str, op: str, at: int) -> Compare:
        raw = token.text[at:]
        where = token.offset(at)
        value = raw.strip()
        if not value:
            self.error(where, f"{name}{op} needs a number after it")
        if name in ("width", "height"):
            if not value.isascii() or not value.isdigit():
                self.error(where, f"{name} needs a whole number of pixels, got {raw!r}")
            return Compare(name, op, float(int(value)), pos=token.pos)
        if name == "score":
            try:
                number = float(value) if re.fullmatch(_NUMBER, value) else -1.0
            except ValueError:  # pragma: no cover - the pattern admits only numbers
                number = -1.0
            if not 0.0 <= number <= 1.0:
                self.error(where, f"score needs a number from 0 to 1, got {raw!r}")
            return Compare(name, op, number, pos=token.pos)
        if name == "size":
            m = _SIZE.match(value)
            if not m:
                self.error(where, f"size needs a number of bytes like 500kb or 2mb, got {raw!r}")
            unit = (m.group(2) or "b").lower()[0]
            return Compare(name, op, float(round(float(m.group(1)) * _UNITS[unit])),
                           pos=token.pos)
        m = _RATIO.match(value)  # ratio
        if not m or (m.group(2) is not None and float(m.group(2)) == 0):
            self.error(where, f"ratio needs a number like 1.78 or 16:9, got {raw!r}")
        number = float(m.group(1)) / (float(m.group(2)) if m.group(2) is not None else 1.0)
        return Compare(name, op, round(number, 2), pos=token.pos)

    def check_error_terms(self, node: Node) -> None:
        """``is:error`` switches the search to unreadable files, which have no image, no tags
        and no size in pixels: it must be a top-level term, combined only with path: and size."""
        top = node.children if isinstance(node, And) else (node,)
        top_level = {id(c) for c in top if isinstance(c, IsTerm)}
        for leaf in leaves(node):
            if isinstance(leaf, IsTerm) and leaf.what == "error" and id(leaf) not in top_level:
                self.error(leaf.pos, "is:error cannot be negated or inside | or a group: it "
                                     "switches the search to files that could not be read")
        if not searches_files(node):
            return
        for child in top:
            if isinstance(child, IsTerm) and child.what == "error":
                continue
            for leaf in leaves(child):
                if not (isinstance(leaf, PathTerm)
                        or (isinstance(leaf, Compare) and leaf.field == "size")):
                    self.error(leaf.pos, "is:error finds files that could not be read; it "
                                         "combines only with path: and size terms")


def _simplify(node: Node) -> Node:
    """Flatten nested AND/OR and remove double negations."""
    if isinstance(node, Not):
        child = _simplify(node.child)
        return child.child if isinstance(child, Not) else Not(child, pos=node.pos)
    if isinstance(node, (And, Or)):
        kind = type(node)
        flat: list[Node] = []
        for child in node.children:
            child = _simplify(child)
            flat.extend(child.children if isinstance(child, kind) else (child,))
        return flat[0] if len(flat) == 1 else kind(tuple(flat))
    return node
