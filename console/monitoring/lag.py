"""How far the event follower is behind Rasa's event stream: unread events, and the age of the
oldest one (its Rasa timestamp). Its own connection to the stream; the bookmark from the store."""
from __future__ import annotations

import json
import time
from typing import Dict

import sqlalchemy as sa

from assist.store import SuggestionStore
from assist.store.db import make_engine


class FollowerLag:
    def __init__(self, events_url: str, store: SuggestionStore, name: str = "console"):
        self.engine = make_engine(events_url)
        self.store = store
        self.name = name
        self.events = sa.table("events", sa.column("id"), sa.column("data"))

    def measure(self) -> Dict[str, float]:
        """{"events": unread, "seconds": age of the oldest unread}; raises when the stream cannot be read.
        No events table yet (Rasa has written nothing) is no lag."""
        position = self.store.follower.lowest(self.name)  # the share furthest behind, whichever console has it
        if not sa.inspect(self.engine).has_table("events"):
            return {"events": 0, "seconds": 0.0}
        with self.engine.connect() as db:
            unread = db.execute(sa.select(sa.func.count()).where(self.events.c.id > position)).scalar() or 0
            first = db.execute(
                sa.select(self.events.c.data).where(self.events.c.id > position).order_by(self.events.c.id).limit(1)
            ).scalar() if unread else None
        stamp = (json.loads(first).get("timestamp") if first else None) or None
        return {"events": unread, "seconds": max(0.0, time.time() - float(stamp)) if stamp else 0.0}
