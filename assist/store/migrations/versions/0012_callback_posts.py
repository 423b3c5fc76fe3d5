"""kefu_callback_posts: bot messages of a customer's turn the callback client did not take, kept until
a Rasa server's retry or sweep posts them (kefu_rasa/callback_retry.py), so a Rasa server killed
mid-retry leaves no customer silent.

Revision ID: 0012_callback_posts
Revises: 0011_follower_members
"""
from alembic import op
import sqlalchemy as sa

revision = "0012_callback_posts"
down_revision = "0011_follower_members"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kefu_callback_posts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kefu_callback_posts_conversation_id", "kefu_callback_posts", ["conversation_id"])
    op.create_index("ix_kefu_callback_posts_next_attempt_at", "kefu_callback_posts", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_kefu_callback_posts_next_attempt_at", "kefu_callback_posts")
    op.drop_index("ix_kefu_callback_posts_conversation_id", "kefu_callback_posts")
    op.drop_table("kefu_callback_posts")
