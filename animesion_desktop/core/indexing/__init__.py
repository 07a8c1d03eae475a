"""Indexing with the packs riding along: the scan and the tagging in one pass per file.

- :func:`index_and_tag` — what ``animesion scan --tag``, the app's Add folder and the watcher's
  arrivals call when packs are active (a core job yielding ``Progress``).
"""

from animesion_desktop.core.indexing.one_pass import OnePassSummary, index_and_tag

__all__ = ["OnePassSummary", "index_and_tag"]
