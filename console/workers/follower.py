"""Follows Rasa's event stream (the SQL event broker's `events` table) into the case service.

- A customer message in a conversation with an open case joins it (the bot is paused and stays
  quiet) and gets fresh drafts; 算了不用了 cancels the wait.
- A message that needs a person but has no case — the action server was unreachable, or the
  customer is angry on an intent the bot answers itself — opens the case here, with the order
  looked up like the action does, and the holding message goes out through the outbox (which
  also pauses the bot), so nobody is left without an answer.
- The bot's own messages (the holding message) join the transcript.
Rasa saves a turn's events after the turn, so by the time a message is read here the handoff
action has already opened its case; the case service takes each message id once.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable, Dict, List, Optional

import sqlalchemy as sa

from assist.cases.service import CaseService, CustomerMessage, Outcome, customer_texts
from assist.store.db import make_engine

logger = logging.getLogger(__name__)


class EventFollower:
    def __init__(self, cases: CaseService, events_url: str, name: str = "console",
                 observe: Optional[Callable[[Dict[str, Any], Outcome], None]] = None):
        self.cases = cases
        self.observe = observe  # hears of each customer message handled (the console's metrics)
        self.store = cases.store
        self.name = name
        self.engine = make_engine(events_url)
        self.events = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("data"))

    def poll(self, limit: int = 500) -> int:
        """Read and handle the events after our bookmark. Blocking: run it in a thread."""
        position = self.store.follower.position(self.name)
        try:
            with self.engine.connect() as db:
                rows = db.execute(
                    sa.select(self.events.c.id, self.events.c.sender_id, self.events.c.data)
                    .where(self.events.c.id > position).order_by(self.events.c.id).limit(limit)
                ).all()
        except sa.exc.OperationalError:
            return 0  # Rasa has not written its first event yet
        for row in rows:
            try:
                self.handle(row.id, row.sender_id, json.loads(row.data))
            except Exception:  # one bad event must not stop the stream
                logger.exception("event %s of %s could not be handled", row.id, row.sender_id)
        if rows:
            # One bookmark write per batch; a batch replayed after a crash is harmless, since
            # every message joins a case at most once (its message id is a unique key).
            self.store.follower.set_position(self.name, rows[-1].id)
        return len(rows)

    def handle(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "user":
            message = CustomerMessage(
                conversation_id=conversation_id, text=event.get("text") or "",
                message_id=str(event.get("message_id") or event_id), channel=event.get("input_channel"),
                parse=event.get("parse_data") or {}, history=lambda: self._earlier_words(conversation_id, event_id),
            )
            outcome = self.cases.on_customer_message(message, hold_through_outbox=True)
            if self.observe:
                self.observe(event, outcome)
        elif kind == "bot" and not (event.get("metadata") or {}).get("kefu_delivery"):
            case = self.store.cases.open_case_for(conversation_id)
            if case and event.get("text"):
                self.store.cases.add_message(case["id"], "bot", event["text"], source_key=f"evt:{event_id}")

    def _earlier_words(self, conversation_id: str, event_id: int) -> List[str]:
        """The customer's words in this conversation up to this event (for mood trend and repeats)."""
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(self.events.c.data).where(self.events.c.sender_id == conversation_id, self.events.c.id <= event_id)
                .order_by(self.events.c.id.desc()).limit(40)
            ).all()
        return customer_texts([json.loads(row.data) for row in reversed(rows)])
