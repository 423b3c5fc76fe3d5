"""What every table of the suggestion store shares: the one `metadata`, the states, and `UtcDateTime`.

Every time is timezone-aware UTC (`UtcDateTime`): PostgreSQL keeps `timestamptz`, SQLite keeps
the UTC wall clock. What a customer or agent reads is shown in the shop's timezone (policy.yml).
The tables are assist/store/schema.py (the console's) and assist/store/channel_tables.py (the Rasa
servers' channels').
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

OPEN, RESOLVED, CANCELLED = "open", "resolved", "cancelled"
ABANDONED = "abandoned"  # nobody took it in time: handed back to the bot, kept for search
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# An agent answers their own cases and the shared queue; a supervisor sees every agent's load,
# reassigns cases and reads the figures (the console checks the role on every route).
AGENT, SUPERVISOR = "agent", "supervisor"
ROLES = (AGENT, SUPERVISOR)
# How a case changes hands (kefu_claims.kind): an agent hands it to a colleague with a note
# (transfer), or a supervisor moves it (reassign).
HANDOVERS = ("transfer", "reassign")


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; a naive datetime is a bug and refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"the store keeps timezone-aware times only, not {value!r}")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = sa.MetaData()
