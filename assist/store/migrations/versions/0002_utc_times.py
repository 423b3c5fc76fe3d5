"""Every time in the store becomes timezone-aware UTC.

Before, times were the server's local wall clock, stored naive (the wait update read UTC as
Shanghai time). Stored times are moved to UTC by the offset of the machine that runs this
migration — run it where the old code ran (same TZ). PostgreSQL columns become timestamptz;
SQLite keeps the UTC wall clock as text (assist/store/schema.py: UtcDateTime).

Revision ID: 0002_utc_times
Revises: 0001_baseline
"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa

revision = "0002_utc_times"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

TIME_COLUMNS = {
    "kefu_cases": ("opened_at", "last_customer_at", "first_response_at", "resolved_at"),
    "kefu_messages": ("at",),
    "kefu_drafts": ("created_at",),
    "kefu_decisions": ("created_at",),
    "kefu_deliveries": ("next_attempt_at", "created_at", "delivered_at"),
    "kefu_agents": ("created_at",),
    "kefu_batches": ("created_at",),
    "kefu_agent_passwords": ("updated_at",),
    "kefu_web_sessions": ("created_at", "expires_at"),
    "kefu_claims": ("at",),
    "kefu_concern_corrections": ("at",),
    "kefu_ratings": ("at",),
    "kefu_chat_contexts": ("updated_at",),
}
NULLABLE = {("kefu_cases", "last_customer_at"), ("kefu_cases", "first_response_at"), ("kefu_cases", "resolved_at"),
            ("kefu_deliveries", "delivered_at")}


def _local_offset_seconds() -> int:
    return int(datetime.now().astimezone().utcoffset().total_seconds())


def upgrade() -> None:
    shift = _local_offset_seconds()
    bind = op.get_bind()
    for table, columns in TIME_COLUMNS.items():
        for column in columns:
            if bind.dialect.name == "postgresql":
                op.alter_column(
                    table, column, type_=sa.DateTime(timezone=True), existing_type=sa.DateTime(),
                    existing_nullable=(table, column) in NULLABLE,
                    postgresql_using=f"({column} - interval '{shift} seconds') AT TIME ZONE 'UTC'",
                )
            elif shift:
                op.execute(sa.text(f"UPDATE {table} SET {column} = datetime({column}, :shift) WHERE {column} IS NOT NULL")
                           .bindparams(shift=f"{-shift} seconds"))


def downgrade() -> None:
    # Back to naive columns holding the UTC wall clock (the old code's local time is not restored).
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in TIME_COLUMNS.items():
        for column in columns:
            op.alter_column(
                table, column, type_=sa.DateTime(), existing_type=sa.DateTime(timezone=True),
                existing_nullable=(table, column) in NULLABLE, postgresql_using=f"{column} AT TIME ZONE 'UTC'",
            )
