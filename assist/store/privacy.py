"""Customers' data kept no longer than needed, and erased on request (PIPL): the suggestion store's
side. Rasa's own tables (its tracker store and event broker) are assist/store/rasa_tables.py.

- `expired(cutoff)`: cases closed (resolved or cancelled) whose last activity — opened, the
  customer's latest message, resolved — is older than `cutoff`. Open cases are never expired: a
  person still owes the customer an answer; `open_before(cutoff)` counts them for the operator.
- `forget_cases(ids)`: a case and everything hanging on it — messages, drafts, decisions (with
  the texts agents sent), deliveries, the learning records, claims, corrections, the rating.
- `forget_conversations(ids)`: every case of those conversations, open or not, and the chat
  context, dead letters and bot messages kept for the callback client (an erasure request).
- `conversations_containing(text)`: conversations whose stored words contain `text` (a phone
  number, an order number, a name), to find a customer who asks to be erased.

Deleting loses the learning signal of those cases too: acceptance is counted over what is kept.
"""
from __future__ import annotations

from datetime import datetime
from typing import Dict, Iterable, List, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .schema import (OPEN, batch_records, callback_posts, cases, chat_contexts, claim_log, concern_corrections, dead_letters,
                     decisions, deliveries, drafts, messages, ratings)

CHUNK = 500  # ids per DELETE … IN (…): well under SQLite's variable limit
# Children before their parents (deliveries name decisions; everything names the case).
CASE_CHILDREN = (deliveries, decisions, drafts, messages, batch_records, claim_log, concern_corrections, ratings)


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _last_activity(row) -> datetime:
    return max(t for t in (row.opened_at, row.last_customer_at, row.resolved_at) if t is not None)


class Privacy:
    def __init__(self, engine: Engine):
        self.engine = engine

    def expired(self, cutoff: datetime) -> List[str]:
        """Ids of closed cases last active before `cutoff`."""
        query = sa.select(cases.c.id, cases.c.opened_at, cases.c.last_customer_at, cases.c.resolved_at).where(
            cases.c.state != OPEN, cases.c.opened_at < cutoff)
        with self.engine.connect() as db:
            return [row.id for row in db.execute(query) if _last_activity(row) < cutoff]

    def open_before(self, cutoff: datetime) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(cases).where(
                cases.c.state == OPEN, cases.c.opened_at < cutoff)).scalar_one()

    def open_conversations(self, conversation_ids: Sequence[str]) -> List[str]:
        """Those of these conversations that have an open case."""
        found: List[str] = []
        with self.engine.connect() as db:
            for part in chunks(list(conversation_ids)):
                found += db.execute(sa.select(cases.c.conversation_id).where(
                    cases.c.conversation_id.in_(part), cases.c.state == OPEN)).scalars().all()
        return found

    def conversations_of(self, case_ids: Sequence[str]) -> List[str]:
        found = set()
        with self.engine.connect() as db:
            for part in chunks(list(case_ids)):
                found.update(db.execute(sa.select(cases.c.conversation_id).where(cases.c.id.in_(part))).scalars())
        return sorted(found)

    def forget_cases(self, case_ids: Sequence[str]) -> Dict[str, int]:
        """Delete the cases and every row hanging on them; rows deleted per table."""
        counts = {table.name: 0 for table in (*CASE_CHILDREN, cases)}
        with self.engine.begin() as db:
            for part in chunks(list(case_ids)):
                self._forget(db, part, counts)
        return counts

    def _forget(self, db: Connection, part: Sequence[str], counts: Dict[str, int]) -> None:
        for table in (*CASE_CHILDREN, cases):
            column = table.c.id if table is cases else table.c.case_id
            counts[table.name] += db.execute(table.delete().where(column.in_(part))).rowcount

    def cases_of(self, conversation_ids: Sequence[str]) -> List[str]:
        found: List[str] = []
        with self.engine.connect() as db:
            for part in chunks(list(conversation_ids)):
                found += db.execute(sa.select(cases.c.id).where(cases.c.conversation_id.in_(part))).scalars().all()
        return found

    def forget_conversations(self, conversation_ids: Sequence[str]) -> Dict[str, int]:
        """Everything the suggestion store keeps about these conversations, open cases included."""
        ids = list(conversation_ids)
        counts = {table.name: 0 for table in (*CASE_CHILDREN, cases, chat_contexts, dead_letters, callback_posts)}
        with self.engine.begin() as db:
            for part in chunks(ids):
                case_ids = db.execute(sa.select(cases.c.id).where(cases.c.conversation_id.in_(part))).scalars().all()
                for case_part in chunks(case_ids):
                    self._forget(db, case_part, counts)
                # Deliveries name their conversation too (a system message without a case row is impossible,
                # but the column is what the outbox reads).
                counts[deliveries.name] += db.execute(deliveries.delete().where(deliveries.c.conversation_id.in_(part))).rowcount
                for table in (chat_contexts, dead_letters, callback_posts):  # bot texts not yet taken by the client
                    counts[table.name] += db.execute(table.delete().where(table.c.conversation_id.in_(part))).rowcount
        return counts

    def conversations_containing(self, text: str) -> List[str]:
        """Conversations whose kept words (customers' messages, agents' texts, the shop's context, the
        learning records) contain `text`."""
        if not text:
            return []
        pattern = f"%{text}%"
        queries = [
            sa.select(cases.c.conversation_id).where(cases.c.id.in_(sa.select(messages.c.case_id).where(messages.c.text.like(pattern)))),
            sa.select(cases.c.conversation_id).where(cases.c.id.in_(
                sa.select(batch_records.c.case_id).where(batch_records.c.customer_text.like(pattern)))),
            sa.select(cases.c.conversation_id).where(cases.c.conversation.like(pattern) | cases.c.situation.like(pattern)),
            sa.select(deliveries.c.conversation_id).where(deliveries.c.text.like(pattern)),
            sa.select(chat_contexts.c.conversation_id).where(chat_contexts.c.context.like(pattern)),
            sa.select(cases.c.conversation_id).where(cases.c.conversation_id.like(pattern)),
        ]
        found = set()
        with self.engine.connect() as db:
            for query in queries:
                found.update(db.execute(query).scalars())
        return sorted(found)
