"""Indexes for the search language.

- ``path:GLOB`` is case-insensitive (SQLite ``LIKE``). A NOCASE index on ``files.relpath`` lets
  a pattern with a literal beginning (``path:wallpapers/*``) read a range of the index instead of
  every file row; ``root_id`` and ``image_id`` in it answer the search without the table.
- ``width`` / ``height`` comparisons read a range of an index instead of every image row.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_files_relpath_nocase", "files",
        [sa.text("relpath COLLATE NOCASE"), "root_id", "image_id"],
    )
    op.create_index("ix_images_width", "images", ["width"])
    op.create_index("ix_images_height", "images", ["height"])


def downgrade() -> None:
    op.drop_index("ix_images_height", "images")
    op.drop_index("ix_images_width", "images")
    op.drop_index("ix_files_relpath_nocase", "files")
