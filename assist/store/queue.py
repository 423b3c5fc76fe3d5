"""The agents' queue: open cases, most urgent first, then the one waiting longest. This is the
one ordering of open cases: the JSON API and the live view both read it from here.

`fingerprint()` is one cheap statement that changes whenever anything an agent sees changes (a
message, drafts, a decision, a delivery delivered or failed, a claim, a correction, a rating), so the live view
can poll it many times a second.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .claims import handover_of
from .db import iso, now
from .schema import (DELIVERED, FAILED, HANDOVERS, OPEN, cases, claim_log, concern_corrections, dead_letters, decisions, deliveries, drafts,
                     messages, ratings)


def waiting_since(thread: List[Dict[str, Any]]) -> Optional[str]:
    """When the customer's oldest unanswered message came: the first customer message after
    the last message a person sent. The bot's holding message is not an answer."""
    since = None
    for message in thread:
        if message["sender"] == "agent":
            since = None
        elif message["sender"] == "customer" and since is None:
            since = message["at"]
    return iso(since)


def queue_order(case: Dict[str, Any]) -> Tuple:
    """Most urgent first; among equals the one waiting longest (not waiting: last)."""
    return (-(case["urgency"] or 0), case["waiting_since"] or "9999", case["opened_at"] or "")


class Queue:
    def __init__(self, engine: Engine):
        self.engine = engine

    def fingerprint(self) -> Tuple:
        def biggest(column):
            return sa.select(sa.func.coalesce(sa.func.max(column), 0)).scalar_subquery()

        def count(table, *where):
            return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()

        statement = sa.select(
            biggest(messages.c.id), biggest(drafts.c.id), biggest(decisions.c.id), biggest(claim_log.c.id),
            biggest(concern_corrections.c.id), count(ratings), count(cases, cases.c.state == OPEN),
            count(deliveries, deliveries.c.state == DELIVERED), count(deliveries, deliveries.c.state == FAILED), count(deliveries),
            count(dead_letters, dead_letters.c.resolved_at.is_(None)),
        )
        with self.engine.connect() as db:
            return tuple(db.execute(statement).one())

    def open_queue(self, limit: int = 200) -> List[Dict[str, Any]]:
        """Open cases in queue order, with what an agent needs at a glance."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(cases).where(cases.c.state == OPEN)).all()
            ids = [row.id for row in rows]
            thread: Dict[str, List[Dict[str, Any]]] = {case_id: [] for case_id in ids}
            delivered: Dict[str, int] = {}
            failed: Dict[str, int] = {}
            handed: Dict[str, Dict[str, Any]] = {}
            if ids:
                for m in db.execute(
                    sa.select(messages.c.case_id, messages.c.sender, messages.c.text, messages.c.at)
                    .where(messages.c.case_id.in_(ids)).order_by(messages.c.id)
                ):
                    thread[m.case_id].append({"sender": m.sender, "text": m.text, "at": m.at})
                for case_id, state, number in db.execute(
                    sa.select(deliveries.c.case_id, deliveries.c.state, sa.func.count())
                    .where(deliveries.c.case_id.in_(ids), deliveries.c.state.in_((DELIVERED, FAILED)))
                    .group_by(deliveries.c.case_id, deliveries.c.state)
                ):
                    (delivered if state == DELIVERED else failed)[case_id] = number
                for h in db.execute(sa.select(claim_log).where(claim_log.c.case_id.in_(ids), claim_log.c.kind.in_(HANDOVERS))
                                    .order_by(claim_log.c.id)):
                    handed[h.case_id] = handover_of(h)  # the latest
        queue = [_summary(row, thread[row.id], delivered.get(row.id, 0), failed.get(row.id, 0)) for row in rows]
        for case in queue:
            last = handed.get(case["id"])
            # The note stays with the case while the one it was handed to holds it.
            case["handover"] = last if last is not None and last["to"] and last["to"] == case["claimed_by"] else None
        queue.sort(key=queue_order)
        return queue[:limit]

    def load(self, roster: List[Dict[str, str]], red_seconds: float, at: Optional[datetime] = None) -> Dict[str, Any]:
        """Every agent's load: the open cases they hold, how many have a customer waiting for a
        person, the longest wait and how many waited past the red limit; the same for the shared
        queue (cases nobody holds). A holder who is no agent (deleted) is listed too."""
        at = at or now()
        queue = self.open_queue(limit=100_000)

        def load_of(held: List[Dict[str, Any]]) -> Dict[str, Any]:
            waits = [(at - datetime.fromisoformat(c["waiting_since"])).total_seconds() for c in held if c["waiting_since"]]
            return {"cases": len(held), "waiting": len(waits), "longest_wait_seconds": round(max(waits), 1) if waits else None,
                    "overdue": sum(1 for w in waits if w >= red_seconds)}

        names = [a["name"] for a in roster] + sorted({c["claimed_by"] for c in queue if c["claimed_by"]} - {a["name"] for a in roster})
        roles = {a["name"]: a["role"] for a in roster}
        return {
            "now": at.isoformat(),
            "agents": [{"name": n, "role": roles.get(n), **load_of([c for c in queue if c["claimed_by"] == n])} for n in names],
            "shared": load_of([c for c in queue if not c["claimed_by"]]),
        }

    def snapshot(self) -> Dict[str, Any]:
        """What the live view sends: the queue, the server's clock (timers count from it) and how
        many of Rasa's events the follower gave up on (dead letters: a customer may be missing)."""
        with self.engine.connect() as db:
            missed = db.execute(sa.select(sa.func.count()).select_from(dead_letters).where(dead_letters.c.resolved_at.is_(None))).scalar()
        return {"now": now().isoformat(), "cases": self.open_queue(), "dead_letters": missed}


def _summary(row, thread: List[Dict[str, Any]], delivered: int, failed: int) -> Dict[str, Any]:
    situation = json.loads(row.situation or "{}")
    facts = situation.get("facts") or {}
    customer = [m for m in thread if m["sender"] == "customer"]
    return {
        "id": row.id, "conversation_id": row.conversation_id, "channel": row.channel,
        "concerns": json.loads(row.concerns or "[]"), "mood": row.mood, "temperament": row.temperament,
        "urgency": row.urgency, "urgency_reasons": situation.get("urgency_reasons") or [],
        "threats": situation.get("threats") or [], "days_late": facts.get("days_late"), "order_id": facts.get("order_id"),
        "claimed_by": row.claimed_by, "batch": row.batch, "wait_updates": row.wait_updates, "opened_at": iso(row.opened_at),
        "last_customer_text": customer[-1]["text"] if customer else None,
        "last_customer_at": iso(customer[-1]["at"]) if customer else None,
        "waiting_since": waiting_since(thread), "messages": len(thread), "customer_messages": len(customer), "delivered": delivered,
        "failed": failed,  # deliveries that will not reach the customer (the case view says why)
    }
