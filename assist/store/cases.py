"""Cases and their messages and batches of drafts.

A case is a conversation with a person. While it is open the bot is paused and the customer's
messages join it. Drafts come in batches: each batch answers the customer's latest words, and
one decision consumes one batch. Every message carries the key of the event it came from, so
the same message never joins twice, whoever sees it first (the handoff action or the follower).
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from . import learning, outbox
from .claims import handover_of
from .transcript import add_message, last_customer_text
from .db import NotFound, as_dict, dumps, now, require_case
from .schema import HANDOVERS, OPEN, RESOLVED, cases, claim_log, decisions, deliveries, drafts, messages


def new_batch(db: Connection, case_id: str, situation: Dict[str, Any], drafts_: List[Dict[str, Any]], at: datetime,
              channel: Optional[str] = None, versions: Optional[Dict[str, str]] = None,
              conversation: Optional[Dict[str, Any]] = None) -> int:
    case = db.execute(sa.select(cases.c.batch, cases.c.urgency, cases.c.versions).where(cases.c.id == case_id)).one()
    batch = case.batch + 1
    versions = versions if versions is not None else json.loads(case.versions or "{}")
    learning.record_batch(db, case_id, batch, situation, drafts_, at, versions, last_customer_text(db, case_id))
    for rank, draft in enumerate(drafts_, 1):
        db.execute(drafts.insert().values(
            case_id=case_id, batch=batch, rank=rank, text=draft["text"], score=float(draft.get("score", 0)),
            reason=draft.get("reason", ""), variant_id=draft.get("variant_id", ""), created_at=at,
        ))
    values = dict(
        batch=batch, situation=dumps(situation), concerns=dumps(situation.get("concerns", [])),
        mood=situation.get("mood"), temperament=situation.get("temperament"),
        # Urgency only rises while a case is open: a calmer message does not bury an old anger.
        urgency=max(float(situation.get("urgency") or 0), case.urgency or 0.0),
    )
    if channel:
        values["channel"] = channel
    if conversation is not None:
        values["conversation"] = dumps(conversation)
    db.execute(cases.update().where(cases.c.id == case_id).values(**values))
    return batch


def _lock(db: Connection, case_id: str) -> None:
    """Take the case row's write lock before reading it (SQLite locks on the first write;
    PostgreSQL on this no-op update too), so read-modify-write is safe across processes."""
    db.execute(cases.update().where(cases.c.id == case_id).values(conversation=cases.c.conversation))


class Cases:
    def __init__(self, engine: Engine):
        self.engine = engine

    def open_case(self, conversation_id: str, situation: Dict[str, Any], drafts_: Iterable[Dict[str, Any]],
                  customer_text: str, channel: Optional[str] = None, source_key: Optional[str] = None,
                  created_by: str = "action", versions: Optional[Dict[str, str]] = None,
                  at: Optional[datetime] = None, conversation: Optional[Dict[str, Any]] = None,
                  image_id: Optional[str] = None, earlier_keys: Optional[Sequence[str]] = None,
                  join_open: bool = True) -> Dict[str, Any]:
        """Open a case for the conversation, or join the open one; store a new batch of drafts.
        The same message (its source key) joins once: again, it changes nothing ("duplicate").
        `earlier_keys`: the customer's messages before this one (they never join the new case); None: not known.
        `join_open=False`: a case someone opened meanwhile is left alone ({"id", "open": True}): the caller
        joins it its own way (the case service puts the messages in between first)."""
        args = (conversation_id, situation, list(drafts_), customer_text, channel, source_key, created_by, versions,
                at or now(), conversation, image_id, None if earlier_keys is None else list(earlier_keys), join_open)
        try:
            return self._open_case(*args)
        except IntegrityError:
            return self._open_case(*args)  # someone opened it a moment ago: join theirs

    def _open_case(self, conversation_id, situation, drafts_, customer_text, channel, source_key, created_by, versions, at,
                   conversation, image_id=None, earlier_keys=None, join_open=True):
        with self.engine.begin() as db:
            case = db.execute(
                sa.select(cases).where(cases.c.conversation_id == conversation_id, cases.c.state == OPEN)
            ).first()
            if case is not None and not join_open:
                return {"id": case.id, "batch": case.batch, "open": True}
            if case is None:
                case_id = str(uuid.uuid4())
                db.execute(cases.insert().values(
                    id=case_id, conversation_id=conversation_id, channel=channel or "rest", state=OPEN,
                    intent=situation.get("intent"), concerns=dumps(situation.get("concerns", [])),
                    mood=situation.get("mood"), temperament=situation.get("temperament"),
                    urgency=float(situation.get("urgency") or 0), situation=dumps(situation),
                    batch=0, opened_at=at, last_customer_at=at, created_by=created_by, versions=dumps(versions or {}),
                    earlier_keys=None if earlier_keys is None else dumps(list(earlier_keys)),
                ))
            else:
                case_id = case.id
            if not add_message(db, case_id, "customer", customer_text, at, source_key, image_id):
                # This very message joined already (the action and the follower both saw it).
                return {"id": case_id, "batch": case.batch, "joined": True, "duplicate": True}
            batch = new_batch(db, case_id, situation, drafts_, at, channel, versions, conversation)
        return {"id": case_id, "batch": batch, "joined": case is not None}

    def add_message(self, case_id: str, sender: str, text: str, source_key: Optional[str] = None,
                    at: Optional[datetime] = None, image_id: Optional[str] = None) -> bool:
        with self.engine.begin() as db:
            require_case(db, case_id)
            return add_message(db, case_id, sender, text, at or now(), source_key, image_id)

    def redraft(self, case_id: str, situation: Dict[str, Any], drafts_: Iterable[Dict[str, Any]],
                versions: Optional[Dict[str, str]] = None,
                conversation_change: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None) -> int:
        """A new batch of drafts for the customer's latest words (the old batch is superseded).
        `versions` (model, templates) default to the case's; `conversation_change` turns the stored
        conversation state into the new one, in the same transaction."""
        with self.engine.begin() as db:
            _lock(db, case_id)
            case = require_case(db, case_id, state=OPEN)
            conversation = conversation_change(json.loads(case.conversation or "{}")) if conversation_change else None
            return new_batch(db, case_id, situation, list(drafts_), now(), versions=versions, conversation=conversation)

    def update_conversation(self, case_id: str, change: Callable[[Dict[str, Any]], Dict[str, Any]]) -> Dict[str, Any]:
        """Read-modify-write of the conversation state under the row's lock, so an agent's send
        and a customer's message arriving together both land."""
        with self.engine.begin() as db:
            _lock(db, case_id)
            row = db.execute(sa.select(cases.c.conversation).where(cases.c.id == case_id).with_for_update()).first()
            if row is None:
                raise NotFound(f"no case {case_id}")
            changed = change(json.loads(row.conversation or "{}"))
            db.execute(cases.update().where(cases.c.id == case_id).values(conversation=dumps(changed)))
        return changed

    def open_case_for(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(cases).where(cases.c.conversation_id == conversation_id, cases.c.state == OPEN)
            ).first()
        return as_dict(row) if row else None

    def conversation_of(self, case_id: str) -> Optional[str]:
        with self.engine.connect() as db:
            return db.execute(sa.select(cases.c.conversation_id).where(cases.c.id == str(case_id))).scalar()

    def opening_key(self, case_id: str) -> Optional[str]:
        """The source key of the customer message that opened the case."""
        with self.engine.connect() as db:
            return db.execute(
                sa.select(messages.c.source_key).where(messages.c.case_id == case_id, messages.c.sender == "customer")
                .order_by(messages.c.id).limit(1)
            ).scalar()

    def get_case(self, case_id: str) -> Dict[str, Any]:
        """The case with its messages, its current drafts, its decisions, deliveries and handovers
        (transfers and reassignments, with their notes)."""
        with self.engine.connect() as db:
            case = as_dict(require_case(db, case_id))

            def rows(table, *where):
                order = table.c.rank if table is drafts else table.c.id
                return [as_dict(r) for r in db.execute(sa.select(table).where(table.c.case_id == case_id, *where).order_by(order))]

            case["messages"] = rows(messages)
            case["drafts"] = rows(drafts, drafts.c.batch == case["batch"])
            case["decisions"] = rows(decisions)
            case["deliveries"] = rows(deliveries)
            case["handovers"] = [handover_of(r) for r in db.execute(
                sa.select(claim_log).where(claim_log.c.case_id == case_id, claim_log.c.kind.in_(HANDOVERS)).order_by(claim_log.c.id))]
        return case

    def close_case(self, case_id: str, state: str = RESOLVED, notify_text: Optional[str] = None) -> Dict[str, Any]:
        """Resolve (or cancel) a case; the bot resumes through the outbox, with an optional message."""
        at = now()
        with self.engine.begin() as db:
            case = require_case(db, case_id, state=OPEN)
            db.execute(cases.update().where(cases.c.id == case_id).values(state=state, resolved_at=at))
            outbox.enqueue(db, case, notify_text or "", kind="system", at=at, resume_bot=True)
            if notify_text:
                add_message(db, case_id, "bot", notify_text, at, f"close:{case_id}")
        return self.get_case(case_id)

    def latest_case_for(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        """The conversation's most recent case (open or closed), with its agents' texts."""
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(cases).where(cases.c.conversation_id == conversation_id)
                .order_by(cases.c.opened_at.desc(), cases.c.id).limit(1)
            ).first()
            if row is None:
                return None
            case = as_dict(row)
            case["agent_texts"] = list(db.execute(
                sa.select(messages.c.text).where(messages.c.case_id == row.id, messages.c.sender == "agent").order_by(messages.c.id)
            ).scalars())
        return case
