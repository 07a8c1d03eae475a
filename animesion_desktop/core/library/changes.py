"""What each write transaction changed, recorded in that same transaction for caching readers.

The search index keeps bitmaps that are expensive to rebuild on a large library. Before this
module, a reader could only see *that* the database changed (``PRAGMA data_version``), so any
commit cost every cache. Now every transaction committed through the library's engine bumps,
just before it commits, one counter in ``generations`` per *domain* it wrote:

    commits         every transaction that wrote anything; a reader that sees data_version move
                    while no counter did knows a commit came from outside (a raw connection, a
                    hand edit) and must clear everything
    images_rows     images inserted or deleted
    images_size     images.width / images.height updated
    images_score    images.char_score updated
    images_other    any other images column updated (readers treat it like both of the above)
    files  roots  tags  labels
    image_tags_all  image_tags written without a log entry: refresh_all, a refresh of very many
                    images, or a cascade from deleting images or tags

``tag_changes`` is the log of effective-tag changes: ``effective.refresh_images`` appends one
row per (image, tag) it added to or removed from ``image_tags`` and marks its own statements with
:data:`LOGGED`, so they bump no counter. A reader patches its tag bitmaps from the rows it has
not seen yet. The log is pruned here (oldest rows beyond :data:`LOG_KEEP`); the highest pruned
seq is kept in ``generations`` as ``tag_changes_pruned`` so a reader that fell behind knows it.

How a statement is classified: its verb and target table, read from the SQL text (statements sent
with ``Session``, ``Connection.execute``, ``exec_driver_sql`` and executemany all pass the
engine's ``before_cursor_execute``), plus the cascades of the schema's foreign keys: deleting
images also touches files (``SET NULL``), labels and image_tags; deleting tags touches labels and
image_tags; deleting roots touches files. ``INSERT OR REPLACE`` counts as a delete too. Anything
the classifier does not understand (``WITH ...``, DDL) counts as touching every domain: a
wrongly bumped counter costs a cache rebuild, a missed one would serve stale results.

Only writes through an engine passed to :func:`track` are recorded. The library tracks its own
engine once migrations have run; migrations themselves are not tracked (no reader exists yet).
"""

from __future__ import annotations

import functools
import re
import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, event

COMMITS = "commits"
IMAGES_ROWS = "images_rows"
IMAGES_SIZE = "images_size"
IMAGES_SCORE = "images_score"
IMAGES_OTHER = "images_other"
FILES = "files"
ROOTS = "roots"
TAGS = "tags"
LABELS = "labels"
IMAGE_TAGS_ALL = "image_tags_all"
DOMAINS = (COMMITS, IMAGES_ROWS, IMAGES_SIZE, IMAGES_SCORE, IMAGES_OTHER, FILES, ROOTS, TAGS,
           LABELS, IMAGE_TAGS_ALL)
# Not a domain: the highest tag_changes seq deleted by pruning (a watermark, not a counter).
TAG_CHANGES_PRUNED = "tag_changes_pruned"

# A statement carrying this comment writes image_tags rows that tag_changes records.
LOGGED = "/* logged in tag_changes */"
LOG_KEEP = 100_000  # tag_changes rows kept; pruned when there are twice as many

_TAG_LOG = "tag_changes"  # pseudo domain: the transaction appended to the log (prune check)
_PENDING = "animesion_changes"  # key in Connection.info: the domains of the open transaction
_EVERYTHING = frozenset(DOMAINS)

_IMAGE_COLUMNS = {"width": IMAGES_SIZE, "height": IMAGES_SIZE, "char_score": IMAGES_SCORE}
_WRITES: dict[str, frozenset[str]] = {  # target table -> domains, for INSERT and UPDATE
    "files": frozenset({FILES}),
    "roots": frozenset({ROOTS}),
    "tags": frozenset({TAGS}),
    "labels": frozenset({LABELS}),
    "image_tags": frozenset({IMAGE_TAGS_ALL}),
}
_DELETES: dict[str, frozenset[str]] = {  # target table -> domains, with ON DELETE cascades
    "images": frozenset({IMAGES_ROWS, FILES, LABELS, IMAGE_TAGS_ALL}),
    "roots": frozenset({ROOTS, FILES}),
    "tags": frozenset({TAGS, LABELS, IMAGE_TAGS_ALL}),
    "files": frozenset({FILES}),
    "labels": frozenset({LABELS}),
    "image_tags": frozenset({IMAGE_TAGS_ALL}),
}
_READS = {"SELECT", "PRAGMA", "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE",
          "EXPLAIN", "ANALYZE", "VACUUM", "REINDEX", "VALUES", "ATTACH", "DETACH"}
_LEADING_COMMENTS = re.compile(r"\A(?:\s*(?:/\*.*?\*/|--[^\n]*(?:\n|\Z)))*\s*", re.S)
_DML = re.compile(
    r"""(?:(?P<insert>INSERT|REPLACE)(?:\s+OR\s+(?P<conflict>\w+))?\s+INTO
        |(?P<update>UPDATE)(?:\s+OR\s+\w+)?
        |(?P<delete>DELETE)\s+FROM)
        \s+(?P<table>"[^"]+"|`[^`]+`|\[[^\]]+\]|[\w.]+)""",
    re.I | re.X,
)
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|\w+|\S")
_CLAUSE_END = {"WHERE", "FROM", "RETURNING", "ORDER", "LIMIT"}


@functools.lru_cache(maxsize=4096)  # statement texts repeat; IN lists of many lengths do too
def classify(statement: str) -> frozenset[str]:
    """The domains ``statement`` may change (empty for reads and temp tables)."""
    logged = LOGGED in statement
    body = _LEADING_COMMENTS.sub("", statement, count=1)
    verb = re.split(r"\W", body, maxsplit=1)[0].upper()
    if not body or verb in _READS:
        return frozenset()
    if verb == "CREATE" and re.match(r"CREATE\s+TEMP(ORARY)?\b", body, re.I):
        return frozenset()
    m = _DML.match(body)
    if m is None:  # WITH ... INSERT, DDL, anything new: assume the worst
        return _EVERYTHING
    schema, _, table = _unquote(m["table"]).lower().rpartition(".")
    if schema not in ("", "main"):  # temp.x: private to the connection
        return frozenset({COMMITS})
    out = {COMMITS}
    if table == "tag_changes":
        out.add(_TAG_LOG)
    replaces = "REPLACE" in ((m["insert"] or "").upper(), (m["conflict"] or "").upper())
    if m["delete"] or replaces:  # REPLACE deletes the row it conflicts with
        out |= _DELETES.get(table, frozenset())
    if m["insert"]:
        out |= {IMAGES_ROWS} if table == "images" else _WRITES.get(table, frozenset())
        if table == "images" and re.search(r"\bDO\s+UPDATE\b", body, re.I):  # an upsert
            out |= {IMAGES_SIZE, IMAGES_SCORE, IMAGES_OTHER}
    if m["update"]:
        if table == "images":
            columns = _set_columns(body[m.end():])
            out |= ({IMAGES_SIZE, IMAGES_SCORE, IMAGES_OTHER} if columns is None
                    else {_IMAGE_COLUMNS.get(c, IMAGES_OTHER) for c in columns})
        else:
            out |= _WRITES.get(table, frozenset())
    if logged and table == "image_tags":
        out.discard(IMAGE_TAGS_ALL)  # the rows are in tag_changes; readers patch from there
    return frozenset(out)


def _unquote(name: str) -> str:
    return ".".join(part.strip('"`[]') for part in name.split("."))


def _set_columns(rest: str) -> set[str] | None:
    """The columns an ``UPDATE t`` assigns, from the text after the table name; None if the
    SET clause is not a plain list of ``column = expression``."""
    tokens = _TOKENS.findall(rest)
    if not tokens or tokens[0].upper() != "SET":
        return None
    columns: set[str] = set()
    depth, expect_column = 0, True
    for tok in tokens[1:]:
        if tok == "(":
            if expect_column:
                return None  # (a, b) = (...): a row value; not worth parsing
            depth += 1
        elif tok == ")":
            depth -= 1
        elif depth == 0:
            if tok.upper() in _CLAUSE_END:
                break
            if tok == ",":
                expect_column = True
            elif expect_column:
                columns.add(_unquote(tok).lower())
                expect_column = False
    return columns or None


# -- recording ------------------------------------------------------------------------------
def track(engine: Engine) -> None:
    """Record the domains of every transaction on ``engine`` and bump them as it commits."""
    if event.contains(engine, "commit", _on_commit):
        return
    event.listen(engine, "begin", _forget)
    event.listen(engine, "before_cursor_execute", _on_execute)
    event.listen(engine, "commit", _on_commit)
    event.listen(engine, "rollback", _forget)


def _forget(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


def _on_execute(conn: Connection, _cursor: Any, statement: str, _parameters: Any,
                _context: Any, _executemany: bool) -> None:
    touched = classify(statement)
    if touched:
        conn.info.setdefault(_PENDING, set()).update(touched)


def _on_commit(conn: Connection) -> None:
    """Runs inside the transaction, right before the DBAPI commit: the counters commit with it.
    Plain DBAPI calls, so these statements are not themselves seen by ``_on_execute``."""
    touched: set[str] | None = conn.info.pop(_PENDING, None)
    if not touched:
        return
    dbapi: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    bump(dbapi, touched - {_TAG_LOG})
    if _TAG_LOG in touched:
        prune(dbapi)


def bump(dbapi: sqlite3.Connection, domains: set[str]) -> None:
    dbapi.executemany(
        "INSERT INTO generations (name, n) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1",
        [(d,) for d in sorted(domains)],
    )


def prune(dbapi: sqlite3.Connection, keep: int | None = None) -> None:
    """Keep the newest ``keep`` (default :data:`LOG_KEEP`) log rows once there are about twice
    as many, so the delete runs once per ``keep`` appended rows, not on every commit."""
    keep = LOG_KEEP if keep is None else keep
    newest = dbapi.execute("SELECT max(seq) FROM tag_changes").fetchone()[0] or 0
    row = dbapi.execute("SELECT n FROM generations WHERE name = ?",
                        (TAG_CHANGES_PRUNED,)).fetchone()
    pruned = row[0] if row else 0
    if newest - pruned <= 2 * keep:
        return
    cut = newest - keep
    dbapi.execute("DELETE FROM tag_changes WHERE seq <= ?", (cut,))
    dbapi.execute(
        "INSERT INTO generations (name, n) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
        "n = excluded.n", (TAG_CHANGES_PRUNED, cut))
