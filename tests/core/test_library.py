"""The library: opening, upgrading, the writer, identity and the effective-tag rule."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from animesion_desktop.core.library import Library, LibraryError, effective
from animesion_desktop.core.library.library import head_revision, make_engine, upgrade
from animesion_desktop.core.library.schema import Image, Pack, PackTag, Prediction
from animesion_desktop.core.library.tags import get_or_create_tag, parse_tag
from animesion_desktop.core.paths import resolve_location


def add_image(lib: Library, hash_: str) -> int:
    def add(s):
        im = Image(hash=hash_, width=10, height=10, format="PNG", added_at=time.time())
        s.add(im)
        s.flush()
        return im.id

    return lib.write(add)


def add_pack_predictions(lib: Library, name: str, scores: dict[tuple[int, str], float],
                         threshold: float = 0.5, active: bool = True) -> int:
    """Store a pack and its predictions the way the tagging engine does."""

    def add(s):
        pack = Pack(name=name, version="1", sha256="0" * 64, path=Path("/x"), active=active,
                    installed_at=time.time(), info={})
        s.add(pack)
        s.flush()
        for (image_id, tag), score in scores.items():
            cat, nm = parse_tag(tag)
            tag_id = get_or_create_tag(s, cat, nm)
            if s.get(PackTag, (pack.id, tag_id)) is None:
                s.add(PackTag(pack_id=pack.id, tag_id=tag_id, threshold=threshold))
            s.add(Prediction(image_id=image_id, pack_id=pack.id, tag_id=tag_id, score=score))
        s.flush()
        effective.refresh_images(s.connection(), {i for i, _ in scores})
        return pack.id

    return lib.write(add)


@pytest.fixture
def lib(tmp_path: Path):
    library = Library.open(tmp_path / "lib.sqlite")
    yield library
    library.close()


def test_open_sets_wal_foreign_keys_and_busy_timeout(lib: Library) -> None:
    with lib.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert rev == head_revision()


def test_explicit_library_keeps_companions_beside_it(tmp_path: Path, monkeypatch) -> None:
    loc = resolve_location(tmp_path / "a.sqlite")
    assert loc.packs_dir.is_relative_to(tmp_path) and loc.thumbs_dir.is_relative_to(tmp_path)
    monkeypatch.setenv("ANIMESION_LIBRARY", str(tmp_path / "env.sqlite"))
    assert resolve_location().db_path == tmp_path / "env.sqlite"
    # the flag wins over the environment
    assert resolve_location(tmp_path / "b.sqlite").db_path == tmp_path / "b.sqlite"


def test_effective_tags_rule(lib: Library) -> None:
    a, b = add_image(lib, "a" * 64), add_image(lib, "b" * 64)
    add_pack_predictions(lib, "p", {(a, "blue_hair"): 0.9, (a, "glasses"): 0.2,
                                    (b, "blue_hair"): 0.7, (a, "character:miku"): 0.8})
    assert lib.effective_tags(a) == [("character", "miku"), ("general", "blue_hair")]
    lib.set_label([a], "blue_hair", "rejected")        # rejected hides a prediction
    lib.set_label([a], "glasses", "accepted")          # accepted shows without one
    assert lib.effective_tags(a) == [("character", "miku"), ("general", "glasses")]
    assert lib.effective_tags(b) == [("general", "blue_hair")]
    # the materialised table equals the definition computed from scratch
    with lib.engine.connect() as conn:
        for image in (a, b):
            assert effective.effective_tag_ids(conn, image) == sorted(
                r[0] for r in conn.execute(
                    text("SELECT tag_id FROM image_tags WHERE image_id=:i"), {"i": image})
            )


def test_threshold_and_activation_change_results_without_rerun(lib: Library) -> None:
    a = add_image(lib, "a" * 64)
    add_pack_predictions(lib, "p", {(a, "blue_hair"): 0.4, (a, "character:miku"): 0.3})
    assert lib.effective_tags(a) == []
    lib.set_threshold("p", "blue_hair", 0.35)
    assert lib.effective_tags(a) == [("general", "blue_hair")]
    with lib.read() as s:
        assert s.get(Image, a).char_score == pytest.approx(0.3)
    lib.set_pack_active("p", False)
    assert lib.effective_tags(a) == []
    with lib.read() as s:
        assert s.get(Image, a).char_score is None
    with pytest.raises(LibraryError, match="no tag"):
        lib.set_threshold("p", "nope", 0.5)


def test_undo_restores_previous_decisions(lib: Library) -> None:
    a, b = add_image(lib, "a" * 64), add_image(lib, "b" * 64)
    lib.set_label([a], "glasses", "rejected", source="import:csv")
    changes = lib.set_label([a, b], "glasses", "accepted")
    assert [lab[2] for lab in lib.labels(a)] == ["accepted"]
    lib.undo(changes)
    assert [(lab[2], lab[3]) for lab in lib.labels(a)] == [("rejected", "import:csv")]
    assert lib.labels(b) == []


def test_model_run_never_changes_labels(lib: Library) -> None:
    a = add_image(lib, "a" * 64)
    lib.set_label([a], "glasses", "rejected")
    before = lib.labels(a)
    add_pack_predictions(lib, "p", {(a, "glasses"): 0.99})
    assert lib.labels(a) == before
    assert lib.effective_tags(a) == []


def test_writer_serialises_concurrent_writes_while_readers_read(lib: Library) -> None:
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(30):
                add_image(lib, f"{k:02d}{i:062d}")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(60):
                lib.image_count()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert lib.image_count() == 120


def test_failed_write_rolls_back_and_reports(lib: Library) -> None:
    def bad(s):
        s.add(Image(hash="c" * 64, width=1, height=1, format="PNG", added_at=0.0))
        s.flush()
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        lib.write(bad)
    assert lib.image_count() == 0


def test_upgrade_from_first_revision_backfills_effective_tags(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    engine = make_engine(db)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO images VALUES (1, :h, 5, 5, 'PNG', 0)"), {"h": "d" * 64})
        conn.execute(text("INSERT INTO tags VALUES (1, 'general', 'blue_hair'), "
                          "(2, 'general', 'glasses'), (3, 'character', 'miku')"))
        conn.execute(text("INSERT INTO packs VALUES (1, 'p', '1', :s, '/x', 1, 0, '{}')"),
                     {"s": "0" * 64})
        conn.execute(text("INSERT INTO pack_tags VALUES (1, 1, 0.5), (1, 2, 0.5), (1, 3, 0.5)"))
        conn.execute(text("INSERT INTO predictions VALUES (1, 1, 1, 0.9), (1, 1, 2, 0.8), "
                          "(1, 1, 3, 0.6)"))
        conn.execute(text("INSERT INTO labels VALUES (1, 2, 'rejected', 'user', 0)"))
    engine.dispose()
    with Library.open(db) as lib:
        assert lib.effective_tags(1) == [("character", "miku"), ("general", "blue_hair")]
        with lib.read() as s:
            assert s.get(Image, 1).char_score == pytest.approx(0.6)


def test_refuses_foreign_and_newer_databases(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (x)")
    with pytest.raises(LibraryError, match="not an Animesion library"):
        Library.open(foreign)
    newer = tmp_path / "newer.sqlite"
    Library.open(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(LibraryError, match="newer"):
        Library.open(newer)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LibraryError, match="garbage.sqlite"):
        Library.open(garbage)


def test_roots_are_readable_and_never_nested(lib: Library, tmp_path: Path) -> None:
    outer = tmp_path / "art"
    (outer / "inner").mkdir(parents=True)
    lib.add_root(outer)
    assert [r.path for r in lib.roots()] == [outer.resolve()]
    assert lib.add_root(outer) == lib.roots()[0].id  # adding again is harmless
    with pytest.raises(LibraryError, match="already indexed as part of the root"):
        lib.add_root(outer / "inner")
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    lib.add_root(other / "sub")
    with pytest.raises(LibraryError, match="contains the root"):
        lib.add_root(other)
    with pytest.raises(LibraryError, match="not a folder"):
        lib.add_root(tmp_path / "nope")


def test_migrations_build_exactly_the_declared_schema(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from animesion_desktop.core.library.schema import Base

    engine = make_engine(tmp_path / "m.sqlite")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    # Expression indexes cannot be compared by autogenerate; everything else must match.
    diff = [d for d in diff if "nocase" not in repr(d).lower()]
    assert diff == []
