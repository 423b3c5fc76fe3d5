"""Customers' conversations as Rasa keeps them, for retention and erasure (PIPL): its SQL tracker
store (KEFU_TRACKER_URL, table `events`: sender_id, timestamp, data) and its SQL event broker
(KEFU_EVENTS_URL, table `events`: id, sender_id, data), which the console follows.

A conversation is deleted whole, never in part: Rasa's SQL tracker store writes "the events beyond the
number stored", so removing some events of a live conversation would make it write old ones again.
A conversation that is deleted starts afresh if the customer writes again.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .privacy import chunks

EVENTS = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("timestamp"), sa.column("data"))


def open_rasa_table(url: str) -> Optional[Engine]:
    """An engine on Rasa's database at `url`, or None when it holds no `events` table (nothing there
    yet; a SQLite file is never created here)."""
    if url.startswith("sqlite:///"):
        database = sa.engine.make_url(url).database
        if not database or database == ":memory:" or not Path(database).exists():
            return None
    engine = sa.create_engine(url)
    if not sa.inspect(engine).has_table("events"):
        engine.dispose()
        return None
    return engine


def idle_conversations(tracker: Engine, before: float) -> List[str]:
    """Conversations in the tracker store whose latest event is older than `before` (a Unix time)."""
    latest = sa.func.max(EVENTS.c.timestamp)
    query = sa.select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id).having(latest < before)
    with tracker.connect() as db:
        return list(db.execute(query).scalars())


def forget(engine: Engine, conversation_ids: Sequence[str]) -> int:
    """Delete every event of these conversations; how many rows went."""
    gone = 0
    with engine.begin() as db:
        for part in chunks(list(conversation_ids)):
            gone += db.execute(EVENTS.delete().where(EVENTS.c.sender_id.in_(part))).rowcount
    return gone


def containing(engine: Engine, text: str) -> List[str]:
    """Conversations with an event whose data holds `text` (Rasa writes its JSON with \\u escapes, so
    Chinese words are looked for in that form too)."""
    if not text:
        return []
    escaped = json.dumps(text)[1:-1]
    forms = {text, escaped}
    condition = sa.or_(*[EVENTS.c.data.like(f"%{form}%") for form in forms], EVENTS.c.sender_id.like(f"%{text}%"))
    with engine.connect() as db:
        return sorted(set(db.execute(sa.select(EVENTS.c.sender_id).where(condition).distinct()).scalars()))


def counts(engines: Dict[str, Optional[Engine]], conversation_ids: Sequence[str]) -> Dict[str, int]:
    """Events per Rasa table that belong to these conversations (for a dry run)."""
    found = {}
    for name, engine in engines.items():
        if engine is None:
            continue
        total = 0
        with engine.connect() as db:
            for part in chunks(list(conversation_ids)):
                total += db.execute(sa.select(sa.func.count()).select_from(EVENTS).where(EVENTS.c.sender_id.in_(part))).scalar_one()
        found[name] = total
    return found
