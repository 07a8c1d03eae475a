"""The Library: the only way into the database.

Opening a library creates or upgrades it (Alembic, inside the package), sets WAL, a busy timeout
and foreign keys on every connection, and starts the single writer. Reads use short sessions on
the caller's thread; writes are functions handed to the writer. Every transaction on the engine
records which kinds of data it changed as it commits (``changes.track``), so caches of derived
data (the search index) know what to rebuild.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from animesion_desktop.core.errors import UserError
from animesion_desktop.core.library import changes, effective
from animesion_desktop.core.library.schema import (
    File,
    Image,
    ImageTag,
    Label,
    LabelState,
    Pack,
    PackTag,
    Root,
    Tag,
)
from animesion_desktop.core.library.tags import get_or_create_tag, parse_tag
from animesion_desktop.core.library.writer import Writer
from animesion_desktop.core.paths import LibraryLocation, resolve_location

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class LibraryError(UserError):
    """A library that cannot be opened or an operation the user asked for that cannot be done."""


@dataclass(frozen=True)
class LabelChange:
    """What a label was before a change, so the change can be undone."""

    image_id: int
    tag_id: int
    before: tuple[str, str, float] | None  # (state, source, at) or None if there was no label


def put_labels(session: Session, image_ids: Iterable[int], tag_id: int, state: str,
               source: str, at: float) -> list[LabelChange]:
    """Set one tag's label on images, inside a writer transaction (the caller flushes and
    refreshes the effective tags); returns what was there before, for undo."""
    before: list[LabelChange] = []
    for image_id in image_ids:
        old = session.get(Label, (image_id, tag_id))
        before.append(LabelChange(image_id, tag_id,
                                  None if old is None else (old.state, old.source, old.at)))
        if old is None:
            session.add(Label(image_id=image_id, tag_id=tag_id, state=state, source=source,
                              at=at))
        else:
            old.state, old.source, old.at = state, source, at
    return before


def _alembic_config(connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    assert head is not None
    return head


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed data
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA mmap_size=268435456")
    cur.close()


def make_engine(db_path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{db_path}",
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=8,
        max_overflow=16,
    )
    event.listen(engine, "connect", _on_connect)
    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; refuses foreign or newer databases by name."""
    with engine.begin() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        tables = set(inspect(conn).get_table_names())
        if current is None and tables - {"alembic_version"}:
            raise LibraryError(
                f"{engine.url.database}: not an Animesion library (it has tables {sorted(tables)})"
            )
        script = ScriptDirectory.from_config(_alembic_config(conn))
        if current is not None and script.get_revision(current) is None:
            raise LibraryError(
                f"{engine.url.database}: made by a newer Animesion Desktop (schema revision "
                f"{current}); this version knows up to {script.get_current_head()}"
            )
        command.upgrade(_alembic_config(conn), revision)


class Library:
    def __init__(self, location: LibraryLocation, engine: Engine) -> None:
        self.location = location
        self.engine = engine
        # Every write from here on records what it changed, for the search caches. (Migrations
        # ran before this and are not recorded: no reader has cached anything yet.)
        changes.track(engine)
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._writer = Writer(self._sessions)

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> Library:
        location = resolve_location(path).ensure()
        engine = make_engine(location.db_path)
        try:
            upgrade(engine)
        except LibraryError:
            engine.dispose()
            raise
        except Exception as exc:  # a corrupt file, a file that is not SQLite, ...
            engine.dispose()
            raise LibraryError(f"{location.db_path}: cannot open the library: {exc}") from exc
        return cls(location, engine)

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Session]:
        """A short read-only session on the calling thread's own connection."""
        session = self._sessions()
        try:
            yield session
        finally:
            # close() ends the transaction and detaches objects with their loaded state intact,
            # so rows returned from a read stay readable.
            session.close()

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` on the writer thread in one transaction and return its result."""
        return self._writer.call(fn)

    def submit(self, fn: Callable[[Session], T]) -> Future[T]:
        return self._writer.submit(fn)

    def close(self) -> None:
        self._writer.close()
        self.engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_check(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(text("PRAGMA integrity_check")).scalar())

    # -- roots --------------------------------------------------------------------------
    def add_root(self, path: str | os.PathLike[str]) -> int:
        root_path = Path(path).expanduser().resolve()
        if not root_path.is_dir():
            raise LibraryError(f"{root_path}: not a folder")
        try:
            os.fspath(root_path).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise LibraryError(f"{root_path!r}: a root folder's own path must be UTF-8") from exc

        def add(session: Session) -> int:
            existing = session.scalar(select(Root.id).where(Root.path == root_path))
            if existing is not None:
                return existing
            # Nested roots would index the same files twice under two paths.
            for other in session.scalars(select(Root.path)):
                if root_path.is_relative_to(other):
                    raise LibraryError(f"{root_path}: already indexed as part of the root {other}")
                if other.is_relative_to(root_path):
                    raise LibraryError(
                        f"{root_path}: contains the root {other}; remove that root first "
                        "(its labels are kept: they belong to the images)"
                    )
            root = Root(path=root_path, added_at=time.time())
            session.add(root)
            session.flush()
            return root.id

        return self.write(add)

    def roots(self) -> list[Root]:
        with self.read() as s:
            return list(s.scalars(select(Root).order_by(Root.id)))

    # -- lookups -------------------------------------------------------------------------
    def image_for_path(self, path: str | os.PathLike[str]) -> int | None:
        """The image a file path shows, if that path is an indexed file."""
        target = Path(path).expanduser().resolve()
        with self.read() as s:
            for root in s.scalars(select(Root)):
                try:
                    rel = target.relative_to(root.path)
                except ValueError:
                    continue
                image_id = s.scalar(
                    select(File.image_id).where(
                        File.root_id == root.id, File.relpath_raw == os.fsencode(rel)
                    )
                )
                if image_id is not None:
                    return image_id
        return None

    def effective_tags(self, image_id: int) -> list[tuple[str, str]]:
        with self.read() as s:
            rows = s.execute(
                select(Tag.category, Tag.name)
                .join(ImageTag, ImageTag.tag_id == Tag.id)
                .where(ImageTag.image_id == image_id)
                .order_by(Tag.category, Tag.name)
            )
            return [(c, n) for c, n in rows]

    def labels(self, image_id: int) -> list[tuple[str, str, str, str, float]]:
        """(category, name, state, source, at) of every decision on an image."""
        with self.read() as s:
            rows = s.execute(
                select(Tag.category, Tag.name, Label.state, Label.source, Label.at)
                .join(Label, Label.tag_id == Tag.id)
                .where(Label.image_id == image_id)
                .order_by(Tag.category, Tag.name)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]

    # -- decisions -----------------------------------------------------------------------
    def set_label(
        self,
        image_ids: Iterable[int],
        tag: str,
        state: LabelState | str,
        source: str = "user",
    ) -> list[LabelChange]:
        """Accept or reject ``tag`` on images; returns what was there before (for undo)."""
        state = LabelState(state).value
        category, name = parse_tag(tag)
        ids = sorted(set(image_ids))

        def apply(session: Session) -> list[LabelChange]:
            tag_id = get_or_create_tag(session, category, name)
            changes = put_labels(session, ids, tag_id, state, source, time.time())
            session.flush()
            effective.refresh_images(session.connection(), ids)
            return changes

        return self.write(apply)

    def clear_label(self, image_ids: Iterable[int], tag: str) -> list[LabelChange]:
        """Withdraw a decision: the image goes back to what the models say."""
        category, name = parse_tag(tag)
        ids = sorted(set(image_ids))

        def apply(session: Session) -> list[LabelChange]:
            tag_id = session.scalar(
                select(Tag.id).where(Tag.category == category, Tag.name == name)
            )
            if tag_id is None:
                return []
            changes = []
            for image_id in ids:
                old = session.get(Label, (image_id, tag_id))
                if old is not None:
                    changes.append(LabelChange(image_id, tag_id, (old.state, old.source, old.at)))
                    session.delete(old)
            session.flush()
            effective.refresh_images(session.connection(), ids)
            return changes

        return self.write(apply)

    def undo(self, changes: Iterable[LabelChange]) -> None:
        """Put labels back exactly as they were before ``changes``."""
        changes = list(changes)

        def apply(session: Session) -> None:
            for ch in changes:
                current = session.get(Label, (ch.image_id, ch.tag_id))
                if ch.before is None:
                    if current is not None:
                        session.delete(current)
                elif current is None:
                    state, source, at = ch.before
                    session.add(Label(image_id=ch.image_id, tag_id=ch.tag_id, state=state,
                                      source=source, at=at))
                else:
                    current.state, current.source, current.at = ch.before
            session.flush()
            effective.refresh_images(session.connection(), {c.image_id for c in changes})

        self.write(apply)

    # -- thresholds and packs ---------------------------------------------------------------
    def set_threshold(self, pack_name: str, tag: str, threshold: float) -> None:
        """Change a pack's threshold for one tag; effective tags follow without a rerun."""
        if not 0.0 <= threshold <= 1.0:
            raise LibraryError(f"threshold must be between 0 and 1, got {threshold}")
        category, name = parse_tag(tag)

        def apply(session: Session) -> None:
            pack_id = session.scalar(select(Pack.id).where(Pack.name == pack_name))
            if pack_id is None:
                raise LibraryError(f"no pack named {pack_name!r}")
            tag_id = session.scalar(
                select(Tag.id).where(Tag.category == category, Tag.name == name)
            )
            row = None if tag_id is None else session.get(PackTag, (pack_id, tag_id))
            if row is None:
                raise LibraryError(f"pack {pack_name!r} has no tag {category}:{name}")
            row.threshold = threshold
            session.flush()
            effective.refresh_tags(session.connection(), [row.tag_id])

        self.write(apply)

    def set_pack_active(self, pack_name: str, active: bool) -> None:
        def apply(session: Session) -> None:
            pack = session.scalar(select(Pack).where(Pack.name == pack_name))
            if pack is None:
                raise LibraryError(f"no pack named {pack_name!r}")
            pack.active = active
            session.flush()
            effective.refresh_all(session.connection())

        self.write(apply)

    def image_count(self) -> int:
        with self.read() as s:
            return int(s.scalar(text("SELECT COUNT(*) FROM images")) or 0)


__all__ = ["Library", "LibraryError", "LabelChange", "Image", "head_revision", "upgrade"]
