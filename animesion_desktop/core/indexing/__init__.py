"""Indexing with the packs riding along: the scan and the tagging in one pass per file.

- :func:`index_and_tag` — what ``animesion scan --tag`` and the app's Add folder and Rescan
  call (a core job yielding ``Progress``; with no active pack, the plain scan);
- :func:`index_new_files` — the same for a list of files: the watcher's arrivals in the app.
"""

from animesion_desktop.core.indexing.one_pass import (
    OnePassSummary,
    index_and_tag,
    index_new_files,
    still_untagged,
)

__all__ = ["OnePassSummary", "index_and_tag", "index_new_files", "still_untagged"]
