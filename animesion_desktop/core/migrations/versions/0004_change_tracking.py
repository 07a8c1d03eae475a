"""Change tracking for the search caches: ``generations`` and ``tag_changes``.

Before this revision a reader could only tell *that* the database changed, so the search index
dropped every cached bitmap on any commit. Now each write transaction bumps a counter per domain
it touched (``generations``), and effective-tag refreshes log the (image, tag) rows they add or
remove (``tag_changes``); the index rebuilds only what a change can affect and patches tag
bitmaps in place. See core/library/changes.py.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The domains as of this revision (changes.DOMAINS may grow; a missing row is created on first use).
_DOMAINS = ("commits", "images_rows", "images_size", "images_score", "images_other", "files",
            "roots", "tags", "labels", "image_tags_all", "tag_changes_pruned")


def upgrade() -> None:
    generations = op.create_table(
        "generations",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    op.bulk_insert(generations, [{"name": d, "n": 0} for d in _DOMAINS])
    op.create_table(
        "tag_changes",
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("image_id", sa.Integer, nullable=False),
        sa.Column("tag_id", sa.Integer, nullable=False),
        sa.Column("added", sa.Boolean, nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("tag_changes")
    op.drop_table("generations")
