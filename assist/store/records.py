"""Finding past cases: search by the customer's words, an order number or an agent, and the
history of closed cases with their decisions. Read-only queries over the store's tables.

Chinese has no spaces between words, so search is a plain substring match (SQL LIKE with
the wildcards escaped): 退款 finds 我要退款了. No tokeniser decides what a word is.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import iso
from .schema import CANCELLED, RESOLVED, cases, decisions, messages

MAX_QUERY = 100


def _case_summary(row) -> Dict[str, Any]:
    situation = json.loads(row.situation or "{}")
    return {
        "id": row.id, "conversation_id": row.conversation_id, "state": row.state, "channel": row.channel,
        "concerns": json.loads(row.concerns or "[]"), "mood": row.mood, "urgency": row.urgency,
        "claimed_by": row.claimed_by, "rating": row.rating,
        "order_id": (situation.get("facts") or {}).get("order_id"),
        "opened_at": iso(row.opened_at), "resolved_at": iso(row.resolved_at),
    }


class Records:
    def __init__(self, engine: Engine):
        self.engine = engine

    def search_cases(self, query: str, limit: int = 50) -> List[Dict[str, Any]]:
        """Cases whose customer or agent messages contain `query`, whose order number contains it,
        or that an agent of that name claimed or decided on. Newest first."""
        query = (query or "").strip()[:MAX_QUERY]
        if not query:
            return []
        by_text = sa.select(messages.c.case_id).where(messages.c.text.contains(query, autoescape=True))
        by_agent = sa.select(decisions.c.case_id).where(decisions.c.agent == query)
        # The order number lives in the situation's facts (JSON text): a substring match finds it.
        by_case = sa.or_(
            cases.c.id.in_(by_text), cases.c.id.in_(by_agent), cases.c.claimed_by == query,
            cases.c.conversation_id == query, cases.c.situation.contains(f'"order_id": "{query}', autoescape=True),
            cases.c.situation.contains(f'"order_id": {query}', autoescape=True),
        )
        with self.engine.connect() as db:
            rows = db.execute(sa.select(cases).where(by_case).order_by(cases.c.opened_at.desc()).limit(limit)).all()
            found = []
            for row in rows:
                summary = _case_summary(row)
                hit = db.execute(
                    sa.select(messages.c.sender, messages.c.text).where(
                        messages.c.case_id == row.id, messages.c.text.contains(query, autoescape=True)
                    ).order_by(messages.c.id).limit(1)
                ).first()
                summary["match"] = {"sender": hit.sender, "text": hit.text} if hit else None
                found.append(summary)
        return found

    def closed_cases(self, limit: int = 50, offset: int = 0, states: Sequence[str] = (RESOLVED, CANCELLED)) -> List[Dict[str, Any]]:
        """Resolved and cancelled cases, most recently closed first, each with its decisions."""
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(cases).where(cases.c.state.in_(tuple(states)))
                .order_by(cases.c.resolved_at.desc()).limit(limit).offset(offset)
            ).all()
            ids = [row.id for row in rows]
            by_case: Dict[str, List[Dict[str, Any]]] = {case_id: [] for case_id in ids}
            if ids:
                for d in db.execute(sa.select(decisions).where(decisions.c.case_id.in_(ids)).order_by(decisions.c.id)).all():
                    by_case[d.case_id].append({
                        "agent": d.agent, "action": d.action, "final_text": d.final_text, "reason": d.reason,
                        "variant_id": d.variant_id, "edit_distance": d.edit_distance, "created_at": iso(d.created_at),
                    })
                first_words = dict(db.execute(
                    sa.select(messages.c.case_id, messages.c.text).where(
                        messages.c.id.in_(
                            sa.select(sa.func.min(messages.c.id)).where(messages.c.case_id.in_(ids), messages.c.sender == "customer")
                            .group_by(messages.c.case_id)
                        )
                    )
                ).all())
            else:
                first_words = {}
        history = []
        for row in rows:
            summary = _case_summary(row)
            summary["decisions"] = by_case[row.id]
            summary["first_customer_text"] = first_words.get(row.id)
            history.append(summary)
        return history
