"""Bot messages of a customer's turn that the callback client did not take, kept until it takes them
(kefu_rasa/callback_retry.py has the posting side).

The Rasa server that made the turn keeps the message here, then retries it in memory for about a
minute and deletes the row once the client takes it. A row still here after that — the server was
killed, or the client stayed away longer — is due, and any Rasa server's sweep posts it again: one
server at a time (`start_attempt` is a compare-and-set on the attempt count and holds the row for a
lease), with backoff, until the client takes it or `GIVE_UP_AFTER` has passed. A message posted twice
is harmless: it carries its id, and the client drops an id it has shown.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import now, take_attempt
from .base import FAILED, PENDING
from .channel_tables import callback_posts

GIVE_UP_AFTER = timedelta(hours=1)  # the customer has left by then; a later post would confuse more than help
KEEP_FAILED = timedelta(days=7)


class CallbackPosts:
    def __init__(self, engine: Engine):
        self.engine = engine

    def keep(self, conversation_id: str, message: Dict[str, Any], retry_at: datetime, error: str) -> int:
        """Keep a message the client did not take; a sweep posts it from `retry_at` on. Returns its row id."""
        at = now()
        with self.engine.begin() as db:
            return db.execute(callback_posts.insert().values(
                conversation_id=conversation_id, message=json.dumps(message, ensure_ascii=False), state=PENDING,
                attempts=1, next_attempt_at=retry_at, last_error=error[:500], created_at=at,
            )).inserted_primary_key[0]

    def taken(self, post_id: int) -> None:
        """The client took it: nothing left to do."""
        with self.engine.begin() as db:
            db.execute(callback_posts.delete().where(callback_posts.c.id == post_id))

    def due(self, at: Optional[datetime] = None, limit: int = 50) -> List[Dict[str, Any]]:
        """Rows to post now, the oldest first, each with its message parsed."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(callback_posts).where(
                callback_posts.c.state == PENDING, callback_posts.c.next_attempt_at <= (at or now()),
            ).order_by(callback_posts.c.next_attempt_at, callback_posts.c.id).limit(limit)).all()
        return [dict(row._mapping, message=json.loads(row.message)) for row in rows]

    def start_attempt(self, post: Dict[str, Any], lease: timedelta) -> bool:
        """Count an attempt and hold the row for `lease`; False when another server took this attempt."""
        return take_attempt(self.engine, callback_posts, post, lease)

    def not_taken(self, post: Dict[str, Any], retry_in: timedelta, error: str) -> bool:
        """The client did not take it again: due after `retry_in`, or given up (False) once it is too old."""
        at = now()
        given_up = at - post["created_at"] >= GIVE_UP_AFTER
        with self.engine.begin() as db:
            db.execute(callback_posts.update().where(callback_posts.c.id == post["id"]).values(
                state=FAILED if given_up else PENDING, next_attempt_at=at + retry_in, last_error=error[:500]))
            if given_up:
                db.execute(callback_posts.delete().where(callback_posts.c.state == FAILED,
                                                         callback_posts.c.created_at < at - KEEP_FAILED))
        return not given_up

    def pending(self, conversation_ids: Optional[List[str]] = None) -> int:
        """How many messages are still waiting for the client (of these conversations)."""
        query = sa.select(sa.func.count()).select_from(callback_posts).where(callback_posts.c.state == PENDING)
        if conversation_ids is not None:
            query = query.where(callback_posts.c.conversation_id.in_(conversation_ids))
        with self.engine.connect() as db:
            return db.execute(query).scalar_one()
