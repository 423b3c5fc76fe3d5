"""Rasa's SQL event broker table (`events`), read in id order: the one place that knows how the
console's event follower reads Rasa's events."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from assist.cases.messages import customer_texts
from assist.store.db import make_engine


UNDEFINED_TABLE = "42P01"  # PostgreSQL's code for a table that does not exist (Rasa has written nothing yet)


@dataclass(frozen=True)
class LoggedEvent:
    id: int
    conversation_id: str
    data: str


class EventLog:
    """Rasa's SQL event broker table, read in id order. The one place that knows how events are read.

    With one Rasa server (SQLite or PostgreSQL) ids become visible in id order. With several servers
    writing one PostgreSQL table, an id is taken at insert and becomes visible at commit, so a smaller
    id can appear after a larger one was read. `Progress` keeps the bookmark at the last id before
    anything unhandled and holds it at a gap in the ids (console/workers/follower.py explains it).
    """

    def __init__(self, url: str):
        self.engine = make_engine(url, reader=True)
        self.events = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("data"))

    def read_after(self, position: int, limit: int) -> List[LoggedEvent]:
        try:
            with self.engine.connect() as db:
                rows = db.execute(
                    sa.select(self.events.c.id, self.events.c.sender_id, self.events.c.data)
                    .where(self.events.c.id > position).order_by(self.events.c.id).limit(limit)
                ).all()
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as error:
            if isinstance(error, sa.exc.ProgrammingError) and getattr(error.orig, "pgcode", None) != UNDEFINED_TABLE:
                raise
            return []  # Rasa has not written its first event yet (no table; or its file is busy): next time
        return [LoggedEvent(row.id, row.sender_id, row.data) for row in rows]

    def after(self, conversation_id: str, event_id: int, limit: int = 50) -> List[Dict[str, Any]]:
        """The conversation's events after `event_id`, oldest first."""
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(self.events.c.data).where(self.events.c.sender_id == conversation_id, self.events.c.id > event_id)
                .order_by(self.events.c.id).limit(limit)
            ).all()
        return [event for event in map(_parsed, [row.data for row in rows]) if event]

    def paused_after(self, conversation_id: str, event_id: int) -> bool:
        """Whether the bot was paused in this conversation after this event (someone told the customer)."""
        with self.engine.connect() as db:
            return db.execute(sa.select(self.events.c.id).where(
                self.events.c.sender_id == conversation_id, self.events.c.id > event_id,
                self.events.c.data.contains('"event": "pause"')).limit(1)).first() is not None

    def position_of(self, conversation_id: str, key: Optional[str]) -> Optional[int]:
        """The id of the customer's event with this message key (msg:<message_id>), or None."""
        if not key or not key.startswith("msg:"):
            return None
        with self.engine.connect() as db:
            rows = db.execute(sa.select(self.events.c.id, self.events.c.data).where(
                self.events.c.sender_id == conversation_id, self.events.c.data.contains(key[4:])).order_by(self.events.c.id)).all()
        return next((row.id for row in rows if (e := _parsed(row.data)) and e.get("event") == "user"
                     and f"msg:{e.get('message_id')}" == key), None)

    def earlier_words(self, conversation_id: str, event_id: int) -> List[str]:
        """The customer's words in this conversation up to this event (for mood trend and repeats)."""
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(self.events.c.data).where(self.events.c.sender_id == conversation_id, self.events.c.id <= event_id)
                .order_by(self.events.c.id.desc()).limit(40)
            ).all()
        return customer_texts([event for event in map(_parsed, reversed([row.data for row in rows])) if event])


def _parsed(data: str) -> Optional[Dict[str, Any]]:
    """An event that cannot be read is its own (dead) letter; it must not spoil its neighbours."""
    try:
        event = json.loads(data)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
