"""Tag names as people type them: ``blue_hair``, ``character:hatsune_miku``, ``"blue hair"``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from animesion_desktop.core.errors import TagError
from animesion_desktop.core.library.schema import CATEGORIES, Tag


def normalize_name(name: str) -> str:
    """Danbooru style: lower case, spaces become underscores."""
    return "_".join(name.strip().lower().split())


def tag_text(category: str, name: str) -> str:
    """A tag as the user types it in a query: general tags bare, others ``category:name``."""
    return name if category == "general" else f"{category}:{name}"


def parse_tag(text: str, default_category: str = "general") -> tuple[str, str]:
    """``"character:hatsune_miku"`` -> ``("character", "hatsune_miku")``.

    A prefix that is not a category is part of the name (``re:zero`` stays one general tag).
    Raises :class:`TagError` for an empty tag and for a category with no name
    (``character:``), which would otherwise become a tag literally named so.
    """
    head, sep, tail = text.partition(":")
    if sep and head.strip().lower() in CATEGORIES:
        if not normalize_name(tail):
            raise TagError(f"{text!r} names the category {head.strip().lower()!r} but no tag")
        return head.strip().lower(), normalize_name(tail)
    if not normalize_name(text):
        raise TagError(f"{text!r}: a tag may not be empty")
    return default_category, normalize_name(text)


def get_or_create_tag(session: Session, category: str, name: str) -> int:
    if category not in CATEGORIES:
        raise TagError(f"unknown tag category {category!r}; expected one of {', '.join(CATEGORIES)}")
    name = normalize_name(name)
    if not name:
        raise TagError("a tag name may not be empty")
    tag_id = session.scalar(select(Tag.id).where(Tag.category == category, Tag.name == name))
    if tag_id is None:
        tag = Tag(category=category, name=name)
        session.add(tag)
        session.flush()
        tag_id = tag.id
    return tag_id
