"""What an operator watches in the store: can it be written, the outbox, open cases by stage,
customers waiting past the red limit, decisions by kind. Read-only queries (readiness, metrics)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import now as store_now
from .queue import Queue
from .schema import FAILED, OPEN, PENDING, callback_posts, cases, decisions, deliveries, follower_state

STAGES = ("open", "in_progress", "done")  # assist/cases/state.py: ConversationState.stage


class Vitals:
    def __init__(self, engine: Engine):
        self.engine = engine

    def check_writable(self) -> None:
        """Raise when the store cannot be read or written (down, read-only after a failover, a
        read-only file). The probe writes nothing: an UPDATE matching no row, rolled back."""
        with self.engine.connect() as db:
            transaction = db.begin()
            try:
                db.execute(sa.select(follower_state.c.name).limit(1)).all()
                db.execute(follower_state.update().where(sa.false()).values(last_event_id=follower_state.c.last_event_id))
            finally:
                transaction.rollback()

    def outbox(self, at: Optional[datetime] = None) -> Dict[str, float]:
        """pending and failed deliveries, and how long the oldest due one has been due (s)."""
        at = at or store_now()
        with self.engine.connect() as db:
            counts = _pending_and_failed(db, deliveries)
            oldest = db.execute(
                sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(deliveries.c.state == PENDING,
                                                                          deliveries.c.next_attempt_at <= at)
            ).scalar()
        due_for = max(0.0, (at - oldest).total_seconds()) if oldest is not None else 0.0
        return dict(counts, oldest_due_seconds=due_for)

    def callback_posts(self) -> Dict[str, int]:
        """A turn's bot messages the callback client has not taken yet (pending), or never took (failed)."""
        with self.engine.connect() as db:
            return _pending_and_failed(db, callback_posts)

    def open_cases_by_stage(self) -> Dict[str, int]:
        """Open cases by the stage of their conversation (no person answered yet, in progress, done)."""
        found = dict.fromkeys(STAGES, 0)
        with self.engine.connect() as db:
            for (conversation,) in db.execute(sa.select(cases.c.conversation).where(cases.c.state == OPEN)):
                stage = (json.loads(conversation or "{}") or {}).get("stage") or "open"
                found[stage] = found.get(stage, 0) + 1
        return found

    def waiting_longer_than(self, seconds: float, at: Optional[datetime] = None) -> int:
        """Customers whose oldest unanswered message is older than `seconds` (the queue's red timer)."""
        limit = (at or store_now()) - timedelta(seconds=seconds)
        return sum(
            1 for case in Queue(self.engine).open_queue(limit=1_000_000)
            if case["waiting_since"] and datetime.fromisoformat(case["waiting_since"]) < limit
        )

    def decisions_by_kind(self) -> Dict[str, int]:
        with self.engine.connect() as db:
            return dict(db.execute(sa.select(decisions.c.action, sa.func.count()).group_by(decisions.c.action)).all())


def _pending_and_failed(db, table: sa.Table) -> Dict[str, int]:
    """How many of a retried table's rows are still being tried (pending) and were given up (failed)."""
    counts = dict(db.execute(sa.select(table.c.state, sa.func.count()).where(table.c.state.in_((PENDING, FAILED)))
                             .group_by(table.c.state)).all())
    return {"pending": counts.get(PENDING, 0), "failed": counts.get(FAILED, 0)}
