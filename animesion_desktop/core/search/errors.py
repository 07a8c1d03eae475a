"""The one error a malformed query raises, with the position it points at."""

from __future__ import annotations

from animesion_desktop.core.errors import UserError


class QueryError(UserError):
    """A query the language cannot read.

    ``str(error)`` is three lines, so it stays aligned whatever prefix a caller prints first::

        unclosed parenthesis at column 11
          blue_hair (red_hair
                    ^
    """

    def __init__(self, query: str, position: int, reason: str) -> None:
        self.query = query
        self.position = max(0, min(position, len(query)))  # 0-based index into the query
        self.reason = reason
        super().__init__(self._render())

    @property
    def column(self) -> int:
        """1-based column of the offending character."""
        return self.position + 1

    def _render(self) -> str:
        # Tabs and newlines would break the caret's alignment; show them as spaces.
        line = "".join(" " if c in "\t\r\n\v\f" else c for c in self.query)
        return f"{self.reason} at column {self.column}\n  {line}\n  {' ' * self.position}^"
