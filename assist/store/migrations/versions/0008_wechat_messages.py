"""WeChat Official Account: the messages WeChat pushed and the delivery ids sent through its
customer-service API, recorded so that a retry (WeChat's, or the outbox's) is handled once across
Rasa instances; and the API access token, shared so that instances do not invalidate each other's.

Revision ID: 0008_wechat_messages
Revises: 0007_decision_keys_per_case
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_wechat_messages"
down_revision = "0007_decision_keys_per_case"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kefu_wechat_messages",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_kefu_wechat_messages_at", "kefu_wechat_messages", ["at"])
    op.create_table(
        "kefu_wechat_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshing_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("app_id"),
    )


def downgrade() -> None:
    op.drop_table("kefu_wechat_tokens")
    op.drop_index("ix_kefu_wechat_messages_at", table_name="kefu_wechat_messages")
    op.drop_table("kefu_wechat_messages")
