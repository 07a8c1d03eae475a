"""Split a query into tokens: ``(`` ``)`` ``|`` ``-`` and words, each with its position.

Rules (see docs/search.md):

- Whitespace separates terms. ``|`` is always an operator outside quotes.
- ``(`` opens a group and ``-`` negates only at the start of a term; inside a word they are
  characters (``saber_(fate)``, ``k-on!``). A ``-`` must touch what it negates.
- Inside a word, a ``)`` that closes a ``(`` of the same word is part of it; any other ``)`` ends
  the word and closes a group: ``(red_hair | saber_(fate))``.
- Double quotes make spaces and ``( ) | -`` ordinary characters: ``"blue hair"``,
  ``character:"hatsune miku"``, ``path:"My Pictures/*"``. A word may mix quoted and plain parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from animesion_desktop.core.search.errors import QueryError


class Kind(Enum):
    LPAREN = "("
    RPAREN = ")"
    OR = "|"
    NOT = "-"
    WORD = "word"
    END = "end"


@dataclass(frozen=True)
class Token:
    kind: Kind
    pos: int  # index of the token's first character in the query
    text: str = ""  # WORD: the characters with quotes removed
    offsets: tuple[int, ...] = ()  # WORD: query index of each character of ``text``

    def offset(self, i: int) -> int:
        """Query position of ``text[i]`` (the end of the word if ``i`` is past it)."""
        if i < len(self.offsets):
            return self.offsets[i]
        return self.offsets[-1] + 1 if self.offsets else self.pos


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "(":
            tokens.append(Token(Kind.LPAREN, i))
            i += 1
        elif c == ")":
            tokens.append(Token(Kind.RPAREN, i))
            i += 1
        elif c == "|":
            tokens.append(Token(Kind.OR, i))
            i += 1
        elif c == "-":
            if i + 1 == n or query[i + 1].isspace():
                raise QueryError(query, i, "'-' needs a term after it")
            tokens.append(Token(Kind.NOT, i))
            i += 1
        else:
            token, i = _word(query, i)
            tokens.append(token)
    tokens.append(Token(Kind.END, n))
    return tokens


def _word(query: str, start: int) -> tuple[Token, int]:
    chars: list[str] = []
    offsets: list[int] = []
    depth = 0  # parentheses opened inside this word
    i, n = start, len(query)
    while i < n:
        c = query[i]
        if c == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QueryError(query, i, "unclosed quote")
            chars.extend(query[i + 1 : close])
            offsets.extend(range(i + 1, close))
            i = close + 1
            continue
        if c.isspace() or c == "|":
            break
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                break
            depth -= 1
        chars.append(c)
        offsets.append(i)
        i += 1
    return Token(Kind.WORD, start, "".join(chars), tuple(offsets)), i
