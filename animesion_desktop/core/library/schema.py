"""The library schema (SQLAlchemy 2.0 typed ORM).

Identity: an image is its content hash (``images``); a file is one location of it (``files``).
Labels and predictions hang off images, so moving, renaming or copying a file keeps them.
``image_tags`` is the materialised *effective* tag set (see ``effective.py``); it is derived data,
rebuilt from labels + predictions + thresholds and never edited by hand.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names make Alembic batch migrations on SQLite predictable.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class PathType(TypeDecorator[Path]):
    """A filesystem path stored as text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else os.fspath(value)

    def process_result_value(self, value: Any, dialect: Any) -> Path | None:
        return None if value is None else Path(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Category(str, enum.Enum):
    GENERAL = "general"
    CHARACTER = "character"
    COPYRIGHT = "copyright"
    ARTIST = "artist"
    META = "meta"
    RATING = "rating"


CATEGORIES = tuple(c.value for c in Category)


class FileStatus(str, enum.Enum):
    OK = "ok"
    MISSING = "missing"
    ERROR = "error"


class LabelState(str, enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Root(Base):
    __tablename__ = "roots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[Path] = mapped_column(PathType, unique=True)
    added_at: Mapped[float] = mapped_column(Float)


class Image(Base):
    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int | None] = mapped_column(Integer, index=True)  # index: revision 0003
    height: Mapped[int | None] = mapped_column(Integer, index=True)
    format: Mapped[str | None] = mapped_column(String(16))
    added_at: Mapped[float] = mapped_column(Float)
    # Best character score among active packs; derived like image_tags (revision 0002).
    char_score: Mapped[float | None] = mapped_column(Float, index=True)


class File(Base):
    __tablename__ = "files"
    __table_args__ = (
        UniqueConstraint("root_id", "relpath_raw", name="uq_files_root_relpath"),
        # path: searches are case-insensitive (revision 0003)
        Index("ix_files_relpath_nocase", text("relpath COLLATE NOCASE"), "root_id", "image_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[int] = mapped_column(ForeignKey("roots.id", ondelete="CASCADE"))
    # Exact bytes of the name (POSIX names need not be UTF-8) and a printable text form.
    relpath_raw: Mapped[bytes] = mapped_column(LargeBinary)
    relpath: Mapped[str] = mapped_column(Text, index=True)
    size: Mapped[int] = mapped_column(Integer)
    mtime_ns: Mapped[int] = mapped_column(Integer)
    image_id: Mapped[int | None] = mapped_column(
        ForeignKey("images.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(8), default=FileStatus.OK.value, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[float] = mapped_column(Float)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("category", "name", name="uq_tags_category_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text, index=True)


class Label(Base):
    """A decision: the user (or an import) accepted or rejected a tag on an image."""

    __tablename__ = "labels"
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    state: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)


class Pack(Base):
    __tablename__ = "packs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[Path] = mapped_column(PathType)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    installed_at: Mapped[float] = mapped_column(Float)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PackTag(Base):
    """A pack's vocabulary and the threshold applied at read time."""

    __tablename__ = "pack_tags"
    pack_id: Mapped[int] = mapped_column(
        ForeignKey("packs.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    threshold: Mapped[float] = mapped_column(Float)


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_pack_tag_score", "pack_id", "tag_id", "score"),)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    pack_id: Mapped[int] = mapped_column(
        ForeignKey("packs.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)


class InferenceRun(Base):
    """That a pack has looked at an image (even if nothing scored above the floor)."""

    __tablename__ = "inference_runs"
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    pack_id: Mapped[int] = mapped_column(
        ForeignKey("packs.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    at: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    # Multimodal packs (revision 0006): the mode that answered (models.multimodal_spec.MODES)
    # and, in conditioned mode, the tags the model was given (a JSON list, in the order given).
    mode: Mapped[str | None] = mapped_column(String(16))
    conditioned_on: Mapped[str | None] = mapped_column(Text)


class Embedding(Base):
    __tablename__ = "embeddings"
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    pack_id: Mapped[int] = mapped_column(
        ForeignKey("packs.id", ondelete="CASCADE"), primary_key=True
    )
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float16, little endian


class ImageTag(Base):
    """Materialised effective tags (revision 0002). Derived; see effective.py."""

    __tablename__ = "image_tags"
    __table_args__ = (
        Index("ix_image_tags_image", "image_id", "tag_id"),
        {"sqlite_with_rowid": False},
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )


class Generation(Base):
    """A counter per kind of change that search caches depend on (revision 0004), bumped in the
    transaction that makes the change; see changes.py for the names."""

    __tablename__ = "generations"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class TagChange(Base):
    """The effective-tag log (revision 0004): one row per (image, tag) that
    ``effective.refresh_images`` added to (``added``) or removed from ``image_tags``, in commit
    order, so a reader can patch its cached tag bitmaps instead of rebuilding them. Pruned to
    the newest rows; deliberately without foreign keys (it outlives the rows it names)."""

    __tablename__ = "tag_changes"
    __table_args__ = {"sqlite_autoincrement": True}  # a seq is never reused, even after pruning
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(Integer)
    tag_id: Mapped[int] = mapped_column(Integer)
    added: Mapped[bool] = mapped_column(Boolean)


# -- similar images, duplicates, clusters, few-shot (revision 0005; core/similar) -------------
class EmbeddingLog(Base):
    """Embedding rows inserted (``added``) or deleted, written by triggers; see 0005."""

    __tablename__ = "embedding_log"
    __table_args__ = {"sqlite_autoincrement": True}
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(Integer)
    pack_id: Mapped[int] = mapped_column(Integer)
    added: Mapped[bool] = mapped_column(Boolean)


class ImagePhash(Base):
    __tablename__ = "image_phash"
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    phash: Mapped[int] = mapped_column(Integer)  # 64 bits, stored signed
    dup_group: Mapped[int | None] = mapped_column(Integer, index=True)


class Suggestion(Base):
    """A proposed tag that is not a decision: ``propagation`` or ``fewshot``, with a score."""

    __tablename__ = "suggestions"
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    at: Mapped[float] = mapped_column(Float)


class Cluster(Base):
    __tablename__ = "clusters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack_id: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(Integer)
    made_at: Mapped[float] = mapped_column(Float)


class ClusterMember(Base):
    __tablename__ = "cluster_members"
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    distance: Mapped[float] = mapped_column(Float)
