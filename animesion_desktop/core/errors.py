"""Mistakes the user can fix: the core raises these, the CLI and the app print them as one line.

Every error the user should see without a traceback derives from :class:`UserError`
(``LibraryError``, ``QueryError``, ``TagError``, ...). It is a ``ValueError`` so code that
validates input the usual way keeps working.
"""

from __future__ import annotations


class UserError(ValueError):
    """Something the user asked for that cannot be done; ``str()`` says what and where."""


class TagError(UserError):
    """A tag as typed that is not a tag: empty, or a category with no name (``character:``)."""
