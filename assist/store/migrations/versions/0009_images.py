"""Photos customers send: kefu_images (one row per stored photo, the file beside the store) and
kefu_messages.image_id (the transcript's message that carried it).

Revision ID: 0009_images
Revises: 0008_wechat_messages
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_images"
down_revision = "0008_wechat_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kefu_images",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kefu_images_conversation_id", "kefu_images", ["conversation_id"])
    op.create_index("ix_kefu_images_at", "kefu_images", ["at"])
    with op.batch_alter_table("kefu_messages") as batch:
        batch.add_column(sa.Column("image_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kefu_messages") as batch:
        batch.drop_column("image_id")
    op.drop_index("ix_kefu_images_at", table_name="kefu_images")
    op.drop_index("ix_kefu_images_conversation_id", table_name="kefu_images")
    op.drop_table("kefu_images")
