"""The one definition of an image's effective tags, and its materialisation.

    effective = accepted labels
              + predictions of active packs with score >= that pack's threshold for the tag
              - rejected labels

Search, the GUI and exports all read ``image_tags`` (and ``images.char_score``, the best
character score among active packs), which only the functions here write. Callers pass the ids
of images whose labels or predictions changed, the tag whose threshold changed, or ask for a
full rebuild after an active-pack change — no model rerun is ever needed for those.

Readers that cache tag sets follow the changes: ``refresh_images`` logs every row it adds or
removes in ``tag_changes``; ``refresh_all`` rewrites the table, which bumps the
``image_tags_all`` generation as it commits (see changes.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

from animesion_desktop.core.library.changes import LOGGED

# The second score test is implied by the first; it is there because it is cheap: it is checked
# on each prediction row before the joins, and drops most rows (a tagger stores ~60 low scores
# per image for a handful over threshold) without looking anything up.
_EFFECTIVE_SELECT = """
SELECT l.tag_id, l.image_id FROM labels l WHERE l.state = 'accepted' {only_l}
UNION
SELECT p.tag_id, p.image_id
  FROM predictions p
  JOIN packs k ON k.id = p.pack_id AND k.active = 1
  JOIN pack_tags pt ON pt.pack_id = p.pack_id AND pt.tag_id = p.tag_id
 WHERE p.score >= pt.threshold
   AND p.score >= (SELECT MIN(threshold) FROM pack_tags)
   AND NOT EXISTS (SELECT 1 FROM labels r
                    WHERE r.image_id = p.image_id AND r.tag_id = p.tag_id
                      AND r.state = 'rejected') {only_p}
"""
# A refresh of some images names them with ``IN (SELECT image_id FROM _dirty)``, not a join:
# without statistics for the temporary table the planner put it inside a scan of every label
# (60 ms for one label on a million images); IN drives the lookups from it (0.2 ms).
_ONLY_DIRTY = "AND {0}.image_id IN (SELECT image_id FROM _dirty)"

_CHAR_SCORE = """
UPDATE images SET char_score = (
    SELECT MAX(p.score) FROM predictions p
      JOIN packs k ON k.id = p.pack_id AND k.active = 1
      JOIN tags t ON t.id = p.tag_id AND t.category = 'character'
     WHERE p.image_id = images.id)
"""


def refresh_all(conn: Connection) -> None:
    """Rebuild every image's effective tags (threshold or active-pack change, migrations)."""
    conn.execute(text("DELETE FROM image_tags"))
    conn.execute(
        text(
            "INSERT OR IGNORE INTO image_tags (tag_id, image_id) "
            + _EFFECTIVE_SELECT.format(only_l="", only_p="")
        )
    )
    conn.execute(text(_CHAR_SCORE))


# Limits that keep the log useful. A refresh of more images than DIFF_IMAGES rewrites their rows
# wholesale, as refresh_all does (diffing millions of rows costs more than rewriting them); a
# change of more rows than LOG_ROWS is applied without being logged. Either way the commit then
# bumps image_tags_all and readers rebuild their tag caches, which they would do anyway for a
# change that big (see changes.py and search/bitmaps.py).
DIFF_IMAGES = 20_000
LOG_ROWS = 50_000


def refresh_images(conn: Connection, image_ids: Iterable[int]) -> None:
    """Rebuild the effective tags of the given images only (label or prediction change).

    Only rows that change are written, and each is logged in ``tag_changes`` in the same
    transaction, so the search index patches its bitmaps instead of rebuilding them. Re-tagging
    an image that comes out the same writes nothing to ``image_tags``.
    """
    ids = _fill_temp(conn, "_dirty", "image_id", image_ids)
    if not ids:
        return
    select_dirty = _EFFECTIVE_SELECT.format(
        only_l=_ONLY_DIRTY.format("l"), only_p=_ONLY_DIRTY.format("p")
    )
    if len(ids) > DIFF_IMAGES:
        # Not marked LOGGED: the commit bumps image_tags_all.
        conn.execute(text("DELETE FROM image_tags WHERE image_id IN (SELECT image_id FROM _dirty)"))
        conn.execute(text("INSERT OR IGNORE INTO image_tags (tag_id, image_id) " + select_dirty))
    else:
        _apply_diff(conn, select_dirty, "it.image_id IN (SELECT image_id FROM _dirty)")
    conn.execute(text(_CHAR_SCORE + " WHERE id IN (SELECT image_id FROM _dirty)"))
    conn.execute(text("DELETE FROM _dirty"))


def refresh_tags(conn: Connection, tag_ids: Iterable[int]) -> None:
    """Rebuild the effective rows of the given tags only, in every image (a threshold change:
    it moves one tag of one pack, so no other row can change). Written and logged as a diff, like
    :func:`refresh_images`; character scores do not depend on thresholds."""
    if not _fill_temp(conn, "_dirty_tags", "tag_id", tag_ids):
        return
    only = "AND {0}.tag_id IN (SELECT tag_id FROM _dirty_tags)"
    _apply_diff(conn, _EFFECTIVE_SELECT.format(only_l=only.format("l"), only_p=only.format("p")),
                "it.tag_id IN (SELECT tag_id FROM _dirty_tags)")
    conn.execute(text("DELETE FROM _dirty_tags"))


def _fill_temp(conn: Connection, table: str, column: str, values: Iterable[int]) -> list[int]:
    """(Re)fill a one-column temporary table of ids; returns them, sorted and distinct."""
    ids = sorted(set(values))
    if ids:
        conn.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({column} INTEGER PRIMARY KEY)"))
        conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text(f"INSERT INTO {table} VALUES (:v)"), [{"v": v} for v in ids])
    return ids


def _apply_diff(conn: Connection, select_now: str, current: str) -> None:
    """Make the image_tags rows that match ``current`` (a condition on ``it``) equal the rows
    ``select_now`` computes, adding and removing only the rows that differ, and log those rows in
    ``tag_changes`` (up to LOG_ROWS)."""
    for ddl in (
        "CREATE TEMP TABLE IF NOT EXISTS _tags_now (tag_id INTEGER NOT NULL, "
        "image_id INTEGER NOT NULL, PRIMARY KEY (tag_id, image_id)) WITHOUT ROWID",
        "CREATE TEMP TABLE IF NOT EXISTS _tags_diff (tag_id INTEGER NOT NULL, "
        "image_id INTEGER NOT NULL, added INTEGER NOT NULL, PRIMARY KEY (tag_id, image_id)) "
        "WITHOUT ROWID",
    ):
        conn.execute(text(ddl))
    conn.execute(text("DELETE FROM _tags_now"))
    conn.execute(text("DELETE FROM _tags_diff"))
    conn.execute(text("INSERT OR IGNORE INTO _tags_now (tag_id, image_id) " + select_now))
    conn.execute(text(
        "INSERT INTO _tags_diff (tag_id, image_id, added) "
        "SELECT n.tag_id, n.image_id, 1 FROM _tags_now n WHERE NOT EXISTS "
        "(SELECT 1 FROM image_tags it WHERE it.tag_id = n.tag_id AND it.image_id = n.image_id)"
    ))
    conn.execute(text(
        "INSERT INTO _tags_diff (tag_id, image_id, added) "
        "SELECT it.tag_id, it.image_id, 0 FROM image_tags it "
        f"WHERE {current} AND NOT EXISTS "  # IN, not a JOIN: a join may scan
        "(SELECT 1 FROM _tags_now n WHERE n.tag_id = it.tag_id AND n.image_id = it.image_id)"
    ))
    rows = conn.execute(text("SELECT count(*) FROM _tags_diff")).scalar_one()
    log = rows <= LOG_ROWS
    mark = LOGGED if log else ""  # unmarked image_tags writes bump image_tags_all
    conn.execute(text(
        f"{mark} DELETE FROM image_tags WHERE (tag_id, image_id) IN "
        "(SELECT tag_id, image_id FROM _tags_diff WHERE added = 0)"
    ))
    conn.execute(text(
        f"{mark} INSERT INTO image_tags (tag_id, image_id) "
        "SELECT tag_id, image_id FROM _tags_diff WHERE added = 1"
    ))
    if log and rows:
        conn.execute(text(
            "INSERT INTO tag_changes (image_id, tag_id, added) "
            "SELECT image_id, tag_id, added FROM _tags_diff ORDER BY image_id, tag_id"
        ))
    conn.execute(text("DELETE FROM _tags_now"))
    conn.execute(text("DELETE FROM _tags_diff"))


def effective_tag_ids(conn: Connection, image_id: int) -> list[int]:
    """Compute (not read) one image's effective tags; tests use it to check the materialisation."""
    rows = conn.execute(
        text(
            "SELECT tag_id FROM ("
            + _EFFECTIVE_SELECT.format(only_l="", only_p="")
            + ") WHERE image_id = :i ORDER BY tag_id"
        ),
        {"i": image_id},
    )
    return [r[0] for r in rows]
