"""The event follower's bookmark: the last Rasa event it handled."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .schema import follower_state


class FollowerPositions:
    def __init__(self, engine: Engine):
        self.engine = engine

    def position(self, name: str) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(follower_state.c.last_event_id).where(follower_state.c.name == name)).scalar() or 0

    def set_position(self, name: str, event_id: int) -> None:
        with self.engine.begin() as db:
            updated = db.execute(follower_state.update().where(follower_state.c.name == name).values(last_event_id=event_id))
            if updated.rowcount == 0:
                db.execute(follower_state.insert().values(name=name, last_event_id=event_id))
