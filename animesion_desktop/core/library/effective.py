"""The one definition of an image's effective tags, and its materialisation.

    effective = accepted labels
              + predictions of active packs with score >= that pack's threshold for the tag
              - rejected labels

Search, the GUI and exports all read ``image_tags`` (and ``images.char_score``, the best
character score among active packs), which only the functions here write. Callers pass the ids
of images whose labels or predictions changed, or ask for a full rebuild after a threshold or an
active-pack change — no model rerun is ever needed for those.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

# The second score test is implied by the first; it is there because it is cheap: it is checked
# on each prediction row before the joins, and drops most rows (a tagger stores ~60 low scores
# per image for a handful over threshold) without looking anything up.
_EFFECTIVE_SELECT = """
SELECT l.tag_id, l.image_id FROM labels l {join_l} WHERE l.state = 'accepted'
UNION
SELECT p.tag_id, p.image_id
  FROM predictions p {join_p}
  JOIN packs k ON k.id = p.pack_id AND k.active = 1
  JOIN pack_tags pt ON pt.pack_id = p.pack_id AND pt.tag_id = p.tag_id
 WHERE p.score >= pt.threshold
   AND p.score >= (SELECT MIN(threshold) FROM pack_tags)
   AND NOT EXISTS (SELECT 1 FROM labels r
                    WHERE r.image_id = p.image_id AND r.tag_id = p.tag_id
                      AND r.state = 'rejected')
"""

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
            + _EFFECTIVE_SELECT.format(join_l="", join_p="")
        )
    )
    conn.execute(text(_CHAR_SCORE))


def refresh_images(conn: Connection, image_ids: Iterable[int]) -> None:
    """Rebuild the effective tags of the given images only (label or prediction change)."""
    ids = sorted(set(image_ids))
    if not ids:
        return
    conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS _dirty (image_id INTEGER PRIMARY KEY)"))
    conn.execute(text("DELETE FROM _dirty"))
    conn.execute(text("INSERT OR IGNORE INTO _dirty VALUES (:i)"), [{"i": i} for i in ids])
    conn.execute(text("DELETE FROM image_tags WHERE image_id IN (SELECT image_id FROM _dirty)"))
    conn.execute(
        text(
            "INSERT OR IGNORE INTO image_tags (tag_id, image_id) "
            + _EFFECTIVE_SELECT.format(
                join_l="JOIN _dirty d ON d.image_id = l.image_id",
                join_p="JOIN _dirty d ON d.image_id = p.image_id",
            )
        )
    )
    conn.execute(text(_CHAR_SCORE + " WHERE id IN (SELECT image_id FROM _dirty)"))
    conn.execute(text("DELETE FROM _dirty"))


def effective_tag_ids(conn: Connection, image_id: int) -> list[int]:
    """Compute (not read) one image's effective tags; tests use it to check the materialisation."""
    rows = conn.execute(
        text(
            "SELECT tag_id FROM ("
            + _EFFECTIVE_SELECT.format(join_l="", join_p="")
            + ") WHERE image_id = :i ORDER BY tag_id"
        ),
        {"i": image_id},
    )
    return [r[0] for r in rows]
