"""A decision's idempotency key is unique per case, not across the store: a key reused on another
case (two scripts counting from 1, a client that keys by batch number) used to return that other
case's decision and record nothing. The unique constraint moves from the key alone to (case, key).

Revision ID: 0007_decision_keys_per_case
Revises: 0006_dead_letters
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_decision_keys_per_case"
down_revision = "0006_dead_letters"
branch_labels = None
depends_on = None

# SQLite keeps the old constraint unnamed: batch mode names it by this convention to drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
UNNAMED = "uq_kefu_decisions_idempotency_key"


def _old_constraint() -> str:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("kefu_decisions"):
        if constraint["column_names"] == ["idempotency_key"]:
            return constraint["name"] or UNNAMED
    return ""


def upgrade() -> None:
    old = _old_constraint()
    with op.batch_alter_table("kefu_decisions", naming_convention=NAMING) as batch:
        if old:
            batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint("kefu_one_decision_per_key", ["case_id", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("kefu_decisions", naming_convention=NAMING) as batch:
        batch.drop_constraint("kefu_one_decision_per_key", type_="unique")
        batch.create_unique_constraint(UNNAMED, ["idempotency_key"])
