"""The tagging engine: model packs run over the library's images, results stored per pack.

``tag_images`` is the job; ``packs_registry`` installs and records packs; ``pipeline``, ``decode``
and ``store`` are its parts (threads, pixels, rows).
"""

from animesion_desktop.core.tagging.job import PackRun, TaggingError, TagSummary, tag_images

__all__ = ["PackRun", "TagSummary", "TaggingError", "tag_images"]
