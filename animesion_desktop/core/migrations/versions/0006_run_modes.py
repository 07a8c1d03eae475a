"""Which mode of a multimodal pack answered an image, and on which tags.

``inference_runs.mode``: ``image_only``, ``generate`` or ``conditioned`` for a multimodal (ViLT)
pack, NULL for every other pack. ``inference_runs.conditioned_on``: in conditioned mode, the
accepted tags the model was given (a JSON list of vocabulary tags, in the order given); the
tagging job compares it with the image's accepted tags now to find guesses that are out of date.
Two nullable columns: every existing row reads as "not multimodal", nothing is rewritten.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inference_runs") as batch:
        batch.add_column(sa.Column("mode", sa.String(16), nullable=True))
        batch.add_column(sa.Column("conditioned_on", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inference_runs") as batch:
        batch.drop_column("conditioned_on")
        batch.drop_column("mode")
