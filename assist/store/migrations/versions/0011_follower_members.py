"""kefu_follower_members: the consoles following Rasa's event stream, each with the time it was last
seen. The live ones share the stream's conversations (16 shares, each with its own bookmark in
kefu_follower), so several consoles split the following instead of each doing all of it.

Revision ID: 0011_follower_members
Revises: 0010_earlier_messages
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_follower_members"
down_revision = "0010_earlier_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kefu_follower_members",
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder"),
    )


def downgrade() -> None:
    op.drop_table("kefu_follower_members")
