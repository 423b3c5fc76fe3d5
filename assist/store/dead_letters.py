"""Dead letters: Rasa events the console's follower gave up on after several tries (a bug or bad
data; a store outage is waited out instead). Kept whole; the console shows how many are open."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .db import as_dict, now
from .schema import dead_letters


class DeadLetters:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, follower: str, event_id: int, conversation_id: Optional[str], event: Any, error: str, tries: int) -> bool:
        """Keep an event the follower gave up on; False if it was kept already (a replayed batch)."""
        text = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        try:
            with self.engine.begin() as db:
                db.execute(dead_letters.insert().values(
                    follower=follower, event_id=event_id, conversation_id=conversation_id, event=text,
                    error=error[:2000], tries=tries, at=now(),
                ))
        except IntegrityError:
            return False
        return True

    def open_count(self) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(dead_letters).where(dead_letters.c.resolved_at.is_(None))).scalar()

    def open_letters(self, limit: int = 100) -> List[Dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(dead_letters).where(dead_letters.c.resolved_at.is_(None))
                              .order_by(dead_letters.c.id).limit(limit)).all()
        return [as_dict(row) for row in rows]

    def resolve(self, letter_id: int) -> bool:
        with self.engine.begin() as db:
            done = db.execute(dead_letters.update().where(dead_letters.c.id == letter_id, dead_letters.c.resolved_at.is_(None))
                              .values(resolved_at=now()))
        return done.rowcount == 1
