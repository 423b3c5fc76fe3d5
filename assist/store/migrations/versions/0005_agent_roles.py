"""Agents have a role (agent or supervisor), checked on every console route; a case handed to a
colleague (transfer) or moved by a supervisor (reassign) records who did it and the note; an edit
sent anyway over newer customer messages records the batch it was written for.

Revision ID: 0005_agent_roles
Revises: 0004_conversation_state
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_agent_roles"
down_revision = "0004_conversation_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kefu_agents") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="agent"))
    with op.batch_alter_table("kefu_claims") as batch:
        batch.add_column(sa.Column("by_agent", sa.String(64)))
        batch.add_column(sa.Column("note", sa.Text()))
    with op.batch_alter_table("kefu_decisions") as batch:
        batch.add_column(sa.Column("written_for_batch", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("kefu_decisions") as batch:
        batch.drop_column("written_for_batch")
    with op.batch_alter_table("kefu_claims") as batch:
        batch.drop_column("note")
        batch.drop_column("by_agent")
    with op.batch_alter_table("kefu_agents") as batch:
        batch.drop_column("role")
