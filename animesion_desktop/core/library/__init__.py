"""The library: one SQLite file, reached only through :class:`Library`."""

from animesion_desktop.core.library.library import Library, LibraryError

__all__ = ["Library", "LibraryError"]
