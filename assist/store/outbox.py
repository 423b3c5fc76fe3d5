"""The delivery outbox: every text for a customer (an agent's reply, the holding message, a wait
update, the bot's resumption) is a row here first, then delivered through Rasa by the console's
outbox worker, retried with backoff until Rasa confirms it.

An attempt is counted before the text is sent (`start_attempt`), never after: a worker that
cannot record the attempt (the store is read-only or locked) sends nothing, and a row whose
earlier attempt may have landed is only sent again after Rasa's tracker was checked for its
delivery id. The row's id is that delivery id (`d<id>`), carried to the customer's client with
the text, so a client that sees it twice shows it once.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .db import as_dict, now, require_case, take_attempt
from .schema import DELIVERED, FAILED, PENDING, cases, deliveries
from .transcript import add_message


def enqueue(db: Connection, case, text: str, kind: str, at: datetime, resume_bot: bool = False,
            decision_id: Optional[int] = None) -> int:
    """Queue a text for the case's customer (`case` is its row); returns the delivery id."""
    return db.execute(deliveries.insert().values(
        decision_id=decision_id, case_id=case.id, conversation_id=case.conversation_id, channel=case.channel,
        text=text, kind=kind, resume_bot=resume_bot, state=PENDING, attempts=0, next_attempt_at=at, created_at=at,
    )).inserted_primary_key[0]


class Outbox:
    def __init__(self, engine: Engine):
        self.engine = engine

    def queue_message(self, case_id: str, text: str, kind: str = "update", once_key: Optional[str] = None) -> Optional[int]:
        """A message from kefu-assist itself (holding message, waiting update), with its transcript line.
        With `once_key` it is queued at most once per key (None the second time): the follower may
        handle the same event again after a crash or a store outage."""
        at = now()
        with self.engine.begin() as db:
            case = require_case(db, case_id)
            if once_key is not None and not add_message(db, case_id, "bot", text, at, once_key):
                return None
            delivery_id = enqueue(db, case, text, kind, at)
            if once_key is None:
                add_message(db, case_id, "bot", text, at, f"delivery:{delivery_id}")
            if kind == "update":
                db.execute(cases.update().where(cases.c.id == case_id).values(wait_updates=cases.c.wait_updates + 1))
        return delivery_id

    def due(self, at: Optional[datetime] = None, limit: int = 50) -> List[Dict[str, Any]]:
        """The deliveries to try now: each conversation's oldest pending one only (its later texts never
        overtake it, even while it waits out a backoff), the longest due first (texts being retried
        do not starve fresh ones of other conversations)."""
        earlier = deliveries.alias("earlier")
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(deliveries).where(
                    deliveries.c.state == PENDING, deliveries.c.next_attempt_at <= (at or now()),
                    ~sa.exists().where(earlier.c.state == PENDING, earlier.c.conversation_id == deliveries.c.conversation_id,
                                       earlier.c.id < deliveries.c.id),
                ).order_by(deliveries.c.next_attempt_at, deliveries.c.id).limit(limit)
            ).all()
        return [as_dict(r) for r in rows]

    def start_attempt(self, delivery: Dict[str, Any], lease: timedelta) -> bool:
        """Count an attempt before sending, and hold the row for `lease` (the longest a push can
        take): a worker that dies mid-push leaves it due again after that, as a retry. False when
        another worker took this attempt first (several consoles share one outbox)."""
        return take_attempt(self.engine, deliveries, delivery, lease)

    def mark_delivered(self, delivery_id: int) -> None:
        with self.engine.begin() as db:
            db.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(state=DELIVERED, delivered_at=now()))

    def retry_later(self, delivery_id: int, error: str, retry_in: timedelta, give_up: bool = False) -> None:
        """The attempt (already counted) failed: try again after `retry_in`, or show it as failed."""
        with self.engine.begin() as db:
            db.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(
                state=FAILED if give_up else PENDING, last_error=error[:2000], next_attempt_at=now() + retry_in,
            ))
