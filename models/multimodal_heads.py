"""A multimodal pack's generated tags as one more head, so the app stores them like any tags.

The ViLT predictor returns, beside the pack's own heads, a head named :data:`TAGS_HEAD` with one
probability per vocabulary tag (special tokens left out, in vocabulary order). Its labels are the
vocabulary's tags as ``general`` tags at the pack's ``tag_threshold``; the app records them with
the pack (thresholds apply at read time as for every head).
"""

from __future__ import annotations

from models.labels import Label
from models.pack import ModelPack
from models.spec import HeadSpec
from models.tag_tokenizer import TagTokenizer

TAGS_HEAD = "[tags]"  # brackets: never the name of a pack.json head the trainers write
TAGS_CATEGORY = "general"


def pack_tokenizer(pack: ModelPack) -> TagTokenizer | None:
    """The pack's tag vocabulary, or None for a pack that is not multimodal."""
    if pack.multimodal is None:
        return None
    return TagTokenizer.read_csv(pack.file(pack.multimodal.vocabulary))


def tags_head(pack: ModelPack, tokenizer: TagTokenizer | None = None) -> HeadSpec | None:
    """The generated-tags head of a multimodal pack that generates tags, else None."""
    spec = pack.multimodal
    if spec is None or "generate" not in spec.modes:
        return None
    tokenizer = tokenizer or pack_tokenizer(pack)
    assert tokenizer is not None
    labels = tuple(Label(t, TAGS_CATEGORY, spec.tag_threshold) for t in tokenizer.tags)
    return HeadSpec(TAGS_HEAD, "none", labels)


def tagging_heads(pack: ModelPack) -> tuple[HeadSpec, ...]:
    """Every head whose scores the app stores for ``pack``: its own, then generated tags."""
    extra = tags_head(pack)
    return pack.heads if extra is None else (*pack.heads, extra)
