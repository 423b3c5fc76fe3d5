"""kefu_cases.earlier_keys: the message keys the conversation held before the message that opened
the case (as the opener saw its tracker). The event follower leaves them out of the case even when
it reads one of them before Rasa has published the opening message's turn. NULL: not known (a case
from before, or one the follower opened), then the follower finds the opening message in Rasa's events.

Revision ID: 0010_earlier_messages
Revises: 0009_images
"""
from alembic import op
import sqlalchemy as sa

revision = "0010_earlier_messages"
down_revision = "0009_images"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kefu_cases") as batch:
        batch.add_column(sa.Column("earlier_keys", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kefu_cases") as batch:
        batch.drop_column("earlier_keys")
