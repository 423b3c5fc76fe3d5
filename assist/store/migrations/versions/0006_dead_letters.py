"""Dead letters: events the console's follower could not handle after several tries.

Before, the follower logged a failing event and moved its bookmark past it: a store outage at
the wrong moment lost a case for good. Now the bookmark never passes an event that was not
handled; one that fails for another reason (a bug, bad data) KEFU_FOLLOWER_MAX_TRIES times is
kept here, whole, and the console shows how many there are.

Revision ID: 0006_dead_letters
Revises: 0005_agent_roles
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_dead_letters"
down_revision = "0005_agent_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kefu_dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("follower", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=True),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("follower", "event_id", name="kefu_dead_letter_once"),
    )


def downgrade() -> None:
    op.drop_table("kefu_dead_letters")
