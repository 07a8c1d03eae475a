"""Similar images, near-duplicates, clusters of unknowns and few-shot suggestions.

- ``embedding_log``: one row per embedding row inserted or deleted (kept by triggers, so the
  tagging store and the FK cascades from deleted images need no change), read by the similar
  index to stay current without reloading every vector. It prunes itself (a trigger).
- ``image_phash``: each image's 64-bit perceptual hash (from its thumbnail) and its
  near-duplicate group (the smallest image id of the group; NULL when it has none).
- ``suggestions``: names proposed for images that are not labels: ``propagation`` (a named
  cluster's nearest neighbours) and ``fewshot`` (the prototype head), each with a score.
- ``clusters`` / ``cluster_members``: the last clustering of unknown images.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Every LOG_PRUNE_EVERY log rows, rows older than LOG_KEEP are dropped; a reader that had not
# seen them reloads its index from the embeddings table.
_LOG_PRUNE_EVERY = 10_000
_LOG_KEEP = 200_000


def upgrade() -> None:
    op.create_table(
        "embedding_log",
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("image_id", sa.Integer, nullable=False),
        sa.Column("pack_id", sa.Integer, nullable=False),
        sa.Column("added", sa.Boolean, nullable=False),
        sqlite_autoincrement=True,
    )
    op.execute(
        "CREATE TRIGGER embedding_log_insert AFTER INSERT ON embeddings BEGIN "
        "INSERT INTO embedding_log (image_id, pack_id, added) "
        "VALUES (NEW.image_id, NEW.pack_id, 1); END"
    )
    op.execute(
        "CREATE TRIGGER embedding_log_delete AFTER DELETE ON embeddings BEGIN "
        "INSERT INTO embedding_log (image_id, pack_id, added) "
        "VALUES (OLD.image_id, OLD.pack_id, 0); END"
    )
    op.execute(
        "CREATE TRIGGER embedding_log_prune AFTER INSERT ON embedding_log "
        f"WHEN NEW.seq % {_LOG_PRUNE_EVERY} = 0 BEGIN "
        f"DELETE FROM embedding_log WHERE seq <= NEW.seq - {_LOG_KEEP}; END"
    )
    op.create_table(
        "image_phash",
        sa.Column("image_id", sa.Integer,
                  sa.ForeignKey("images.id", ondelete="CASCADE",
                                name="fk_image_phash_image_id_images"),
                  primary_key=True),
        sa.Column("phash", sa.Integer, nullable=False),
        sa.Column("dup_group", sa.Integer, nullable=True),
    )
    op.create_index("ix_image_phash_dup_group", "image_phash", ["dup_group"])
    op.create_table(
        "suggestions",
        sa.Column("image_id", sa.Integer,
                  sa.ForeignKey("images.id", ondelete="CASCADE",
                                name="fk_suggestions_image_id_images"),
                  primary_key=True),
        sa.Column("tag_id", sa.Integer,
                  sa.ForeignKey("tags.id", ondelete="CASCADE", name="fk_suggestions_tag_id_tags"),
                  primary_key=True),
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_suggestions_tag_id", "suggestions", ["tag_id"])
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pack_id", sa.Integer,
                  sa.ForeignKey("packs.id", ondelete="CASCADE", name="fk_clusters_pack_id_packs"),
                  nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("made_at", sa.Float, nullable=False),
    )
    op.create_table(
        "cluster_members",
        sa.Column("cluster_id", sa.Integer,
                  sa.ForeignKey("clusters.id", ondelete="CASCADE",
                                name="fk_cluster_members_cluster_id_clusters"),
                  primary_key=True),
        sa.Column("image_id", sa.Integer,
                  sa.ForeignKey("images.id", ondelete="CASCADE",
                                name="fk_cluster_members_image_id_images"),
                  primary_key=True),
        sa.Column("distance", sa.Float, nullable=False),
    )
    op.create_index("ix_cluster_members_image_id", "cluster_members", ["image_id"])


def downgrade() -> None:
    op.drop_table("cluster_members")
    op.drop_table("clusters")
    op.drop_table("suggestions")
    op.drop_table("image_phash")
    for name in ("embedding_log_prune", "embedding_log_delete", "embedding_log_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("embedding_log")
