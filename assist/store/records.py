"""Finding past cases: search by the customer's words, an order number or an agent, and the
history of closed cases with their decisions. Read-only queries over the store's tables.

Chinese has no spaces between words, so search is a plain substring match: 退款 finds 我要退款了.
No tokeniser decides what a word is. Customers type traditional characters too, so the words are
compared in one form: the caller passes `fold` (the console passes assist.text.search.search_form,
traditional → simplified), which is applied to the query and to every message alike, and 破快递
finds 破快遞. The store cannot fold in SQL, so messages are read newest first in chunks and the
reading stops once `limit` cases are found.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import iso
from .schema import ABANDONED, CANCELLED, RESOLVED, cases, decisions, messages

MAX_QUERY = 100
CHUNK = 2000


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

    def search_cases(self, query: str, fold: Callable[[str], str], limit: int = 50) -> List[Dict[str, Any]]:
        """Cases whose customer or agent messages contain `query` (both folded), whose order number
        contains it, or that an agent of that name claimed or decided on. Newest first, each with
        `match`: its first message that contains the query, or None."""
        query = (query or "").strip()[:MAX_QUERY]
        folded = fold(query)
        if not query or not folded:
            return []
        with self.engine.connect() as db:
            found = set(self._cases_with_words(db, folded, fold, limit))
            by_agent = sa.select(decisions.c.case_id).where(decisions.c.agent == query)
            # The order number lives in the situation's facts (JSON text): a substring match finds it.
            by_case = sa.or_(
                cases.c.id.in_(by_agent), cases.c.claimed_by == query, cases.c.conversation_id == query,
                cases.c.situation.contains(f'"order_id": "{query}', autoescape=True),
                cases.c.situation.contains(f'"order_id": {query}', autoescape=True),
            )
            found |= set(db.execute(sa.select(cases.c.id).where(by_case).order_by(cases.c.opened_at.desc()).limit(limit)).scalars())
            rows = db.execute(sa.select(cases).where(cases.c.id.in_(found)).order_by(cases.c.opened_at.desc()).limit(limit)).all() if found else []
            out = []
            for row in rows:
                summary = _case_summary(row)
                said = db.execute(sa.select(messages.c.sender, messages.c.text).where(messages.c.case_id == row.id).order_by(messages.c.id))
                hit = next((m for m in said if folded in fold(m.text)), None)
                summary["match"] = {"sender": hit.sender, "text": hit.text} if hit else None
                out.append(summary)
        return out

    @staticmethod
    def _cases_with_words(db, folded: str, fold: Callable[[str], str], limit: int) -> List[str]:
        """Up to `limit` cases with a message containing the folded words, by their newest such message."""
        found: Dict[str, None] = {}
        before = None
        while len(found) < limit:
            page = sa.select(messages.c.id, messages.c.case_id, messages.c.text).order_by(messages.c.id.desc()).limit(CHUNK)
            chunk = db.execute(page if before is None else page.where(messages.c.id < before)).all()
            for m in chunk:
                if m.case_id not in found and folded in fold(m.text):
                    found[m.case_id] = None
                    if len(found) >= limit:
                        break
            if len(chunk) < CHUNK:
                break
            before = chunk[-1].id
        return list(found)

    def closed_cases(self, limit: int = 50, offset: int = 0, states: Sequence[str] = (RESOLVED, CANCELLED, ABANDONED)) -> List[Dict[str, Any]]:
        """Resolved, cancelled and abandoned cases, most recently closed first, each with its decisions."""
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
