"""Initial schema: roots, files, images, tags, labels, packs, predictions, embeddings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("added_at", sa.Float, nullable=False),
        sa.UniqueConstraint("path", name="uq_roots_path"),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("format", sa.String(16)),
        sa.Column("added_at", sa.Float, nullable=False),
        sa.UniqueConstraint("hash", name="uq_images_hash"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "root_id",
            sa.Integer,
            sa.ForeignKey("roots.id", ondelete="CASCADE", name="fk_files_root_id_roots"),
            nullable=False,
        ),
        sa.Column("relpath_raw", sa.LargeBinary, nullable=False),
        sa.Column("relpath", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("mtime_ns", sa.Integer, nullable=False),
        sa.Column(
            "image_id",
            sa.Integer,
            sa.ForeignKey("images.id", ondelete="SET NULL", name="fk_files_image_id_images"),
        ),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("seen_at", sa.Float, nullable=False),
        sa.UniqueConstraint("root_id", "relpath_raw", name="uq_files_root_relpath"),
    )
    op.create_index("ix_files_relpath", "files", ["relpath"])
    op.create_index("ix_files_image_id", "files", ["image_id"])
    op.create_index("ix_files_status", "files", ["status"])
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.UniqueConstraint("category", "name", name="uq_tags_category_name"),
    )
    op.create_index("ix_tags_name", "tags", ["name"])
    op.create_table(
        "labels",
        sa.Column(
            "image_id",
            sa.Integer,
            sa.ForeignKey("images.id", ondelete="CASCADE", name="fk_labels_image_id_images"),
            primary_key=True,
        ),
        sa.Column(
            "tag_id",
            sa.Integer,
            sa.ForeignKey("tags.id", ondelete="CASCADE", name="fk_labels_tag_id_tags"),
            primary_key=True,
        ),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_labels_tag_id", "labels", ["tag_id"])
    op.create_table(
        "packs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("installed_at", sa.Float, nullable=False),
        sa.Column("info", sa.JSON, nullable=False),
        sa.UniqueConstraint("name", name="uq_packs_name"),
    )
    op.create_table(
        "pack_tags",
        sa.Column(
            "pack_id",
            sa.Integer,
            sa.ForeignKey("packs.id", ondelete="CASCADE", name="fk_pack_tags_pack_id_packs"),
            primary_key=True,
        ),
        sa.Column(
            "tag_id",
            sa.Integer,
            sa.ForeignKey("tags.id", ondelete="CASCADE", name="fk_pack_tags_tag_id_tags"),
            primary_key=True,
        ),
        sa.Column("threshold", sa.Float, nullable=False),
    )
    op.create_table(
        "predictions",
        sa.Column(
            "image_id",
            sa.Integer,
            sa.ForeignKey("images.id", ondelete="CASCADE", name="fk_predictions_image_id_images"),
            primary_key=True,
        ),
        sa.Column(
            "pack_id",
            sa.Integer,
            sa.ForeignKey("packs.id", ondelete="CASCADE", name="fk_predictions_pack_id_packs"),
            primary_key=True,
        ),
        sa.Column(
            "tag_id",
            sa.Integer,
            sa.ForeignKey("tags.id", ondelete="CASCADE", name="fk_predictions_tag_id_tags"),
            primary_key=True,
        ),
        sa.Column("score", sa.Float, nullable=False),
    )
    op.create_index("ix_predictions_pack_tag_score", "predictions", ["pack_id", "tag_id", "score"])
    op.create_table(
        "inference_runs",
        sa.Column(
            "image_id",
            sa.Integer,
            sa.ForeignKey("images.id", ondelete="CASCADE", name="fk_inference_runs_image_id_images"),
            primary_key=True,
        ),
        sa.Column(
            "pack_id",
            sa.Integer,
            sa.ForeignKey("packs.id", ondelete="CASCADE", name="fk_inference_runs_pack_id_packs"),
            primary_key=True,
        ),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_inference_runs_pack_id", "inference_runs", ["pack_id"])
    op.create_table(
        "embeddings",
        sa.Column(
            "image_id",
            sa.Integer,
            sa.ForeignKey("images.id", ondelete="CASCADE", name="fk_embeddings_image_id_images"),
            primary_key=True,
        ),
        sa.Column(
            "pack_id",
            sa.Integer,
            sa.ForeignKey("packs.id", ondelete="CASCADE", name="fk_embeddings_pack_id_packs"),
            primary_key=True,
        ),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "embeddings", "inference_runs", "predictions", "pack_tags", "packs",
        "labels", "tags", "files", "images", "roots",
    ):
        op.drop_table(table)
