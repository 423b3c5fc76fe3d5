"""Cases keep their conversation state (assist/cases/state.py) beside the situation, in the
column `conversation` (`state` is the case's own open/resolved/cancelled).

Revision ID: 0004_conversation_state
Revises: 0003_batch_records
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_conversation_state"
down_revision = "0003_batch_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kefu_cases") as batch:
        batch.add_column(sa.Column("conversation", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("kefu_cases") as batch:
        batch.drop_column("conversation")
