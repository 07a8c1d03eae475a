"""Materialise effective tags and each image's best character score.

Searching a million images by computing "accepted + predictions over threshold - rejected" per
query is too slow, so the result is kept in ``image_tags`` / ``images.char_score`` and refreshed
whenever labels, predictions, thresholds or the active packs change. Existing libraries are
backfilled here.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_tags",
        sa.Column(
            "tag_id",
            sa.Integer,
            sa.ForeignKey("tags.id", ondelete="CASCADE", name="fk_image_tags_tag_id_tags"),
            primary_key=True,
        ),
        sa.Column(
            "image_id",
            sa.Integer,
            sa.ForeignKey("images.id", ondelete="CASCADE", name="fk_image_tags_image_id_images"),
            primary_key=True,
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_image_tags_image", "image_tags", ["image_id", "tag_id"])
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("char_score", sa.Float))
        batch.create_index("ix_images_char_score", ["char_score"])
    # Backfill with the same SQL the library uses at run time.
    from animesion_desktop.core.library import effective

    effective.refresh_all(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_index("ix_images_char_score")
        batch.drop_column("char_score")
    op.drop_index("ix_image_tags_image", "image_tags")
    op.drop_table("image_tags")
