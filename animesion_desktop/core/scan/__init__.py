"""Scanning, thumbnails and watching: keeping the library in step with the user's folders.

The app and the commands use:

- :func:`scan_roots` — the scan job (a generator yielding ``Progress``, returning ``ScanSummary``),
- :class:`Watcher` — file-system watching with debounced, batched updates,
- :func:`purge_missing` — forget missing files (and images only they showed),
- :func:`thumbnail_path` / :func:`ensure_thumbnail` — the thumbnail cache.
"""

from animesion_desktop.core.scan.decode import DEFAULT_MAX_PIXELS
from animesion_desktop.core.scan.scanner import PurgeSummary, ScanSummary, purge_missing, scan_roots
from animesion_desktop.core.scan.thumbnails import THUMB_SIZE, ensure_thumbnail, thumbnail_path
from animesion_desktop.core.scan.walk import IMAGE_EXTENSIONS
from animesion_desktop.core.scan.watcher import Watcher

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "THUMB_SIZE",
    "PurgeSummary",
    "ScanSummary",
    "Watcher",
    "ensure_thumbnail",
    "purge_missing",
    "scan_roots",
    "thumbnail_path",
]
