"""Review: the queue of undecided predictions and the decisions a reviewer makes on it.

    from animesion_desktop.core.review import build_queue, review_item, decide, Decision
    from animesion_desktop.core.review import TagQueue  # the general-tag queue, in pages
"""

from animesion_desktop.core.review.batch import BatchPreview, accept_above, preview_accept_above
from animesion_desktop.core.review.decisions import UNKNOWN_CHARACTER, Decision, decide
from animesion_desktop.core.review.queue import (
    ORDERS,
    TOP_K,
    Candidate,
    ReviewItem,
    build_queue,
    review_item,
)
from animesion_desktop.core.review.tag_queue import TagEntry, TagQueue

__all__ = [
    "ORDERS",
    "TOP_K",
    "UNKNOWN_CHARACTER",
    "BatchPreview",
    "Candidate",
    "Decision",
    "ReviewItem",
    "TagEntry",
    "TagQueue",
    "accept_above",
    "build_queue",
    "decide",
    "preview_accept_above",
    "review_item",
]
