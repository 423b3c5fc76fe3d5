"""Agents' decisions on a batch of drafts: approve, edit or reject, exactly once per batch.

A decision and the delivery of its text are one transaction guarded by unique keys, so two
agents approving one case at the same moment give one decision and one delivery.
"""
from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from . import outbox
from .db import AlreadyHandled, NotFound, as_dict, now, require_case
from .schema import OPEN, RESOLVED, cases, decisions, drafts
from .transcript import add_message

DECISION_ACTIONS = ("approve", "edit", "reject")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance in characters: how much an agent changed a draft."""
    if a == b:
        return 0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


class Decisions:
    def __init__(self, engine: Engine):
        self.engine = engine

    def decide(self, case_id: str, agent: str, action: str, draft_id: Optional[int] = None, text: Optional[str] = None,
               reason: Optional[str] = None, resolve: bool = False, batch: Optional[int] = None,
               idempotency_key: Optional[str] = None, findings_overridden: bool = False,
               written_for_batch: Optional[int] = None) -> Dict[str, Any]:
        """Record an agent's decision on the current drafts and queue its delivery, atomically.

        `batch` is the batch the agent saw; deciding on a superseded batch is 409, so an agent
        never answers words they did not read. The same idempotency key returns the same decision.
        `written_for_batch`: an edit begun on an earlier batch that the agent chose to send anyway
        after seeing the customer's newer words (recorded; ignored unless it is earlier).
        """
        if action not in DECISION_ACTIONS:
            raise ValueError(f"action must be one of {DECISION_ACTIONS}")
        at = now()
        with self.engine.begin() as db:
            if idempotency_key:
                earlier = db.execute(sa.select(decisions).where(decisions.c.case_id == case_id,
                                                                decisions.c.idempotency_key == idempotency_key)).first()
                if earlier is not None:
                    return as_dict(earlier)
            case = require_case(db, case_id, state=OPEN)
            if batch is not None and batch != case.batch:
                raise AlreadyHandled(f"case {case_id} has newer drafts (batch {case.batch}); reload it")
            draft = None
            if draft_id is not None:
                draft = db.execute(sa.select(drafts).where(drafts.c.id == draft_id, drafts.c.case_id == case_id)).first()
                if draft is None:
                    raise NotFound(f"no draft {draft_id} on case {case_id}")
                if draft.batch != case.batch:
                    raise AlreadyHandled(f"draft {draft_id} was superseded by newer drafts")
            final_text = _final_text(action, draft, text)
            try:
                with db.begin_nested():
                    decision_id = db.execute(decisions.insert().values(
                        case_id=case_id, batch=case.batch, agent=agent, action=action,
                        draft_id=draft.id if draft is not None else None,
                        variant_id=draft.variant_id if draft is not None else None,
                        final_text=final_text, reason=reason,
                        edit_distance=edit_distance(draft.text, final_text) if draft is not None and final_text else None,
                        seconds_to_decide=(at - case.opened_at).total_seconds(), findings_overridden=findings_overridden,
                        resolve=resolve,
                        written_for_batch=written_for_batch if written_for_batch is not None and written_for_batch < case.batch else None,
                        idempotency_key=idempotency_key or f"{case_id}:{case.batch}:{uuid.uuid4().hex}",
                        created_at=at,
                    )).inserted_primary_key[0]
            except IntegrityError:
                raise AlreadyHandled(f"case {case_id}: these drafts were already handled by another agent") from None
            if final_text:
                outbox.enqueue(db, case, final_text, kind="agent", at=at, resume_bot=resolve, decision_id=decision_id)
                add_message(db, case_id, "agent", final_text, at, f"decision:{decision_id}")
                if case.first_response_at is None:
                    db.execute(cases.update().where(cases.c.id == case_id).values(first_response_at=at))
            if resolve:
                db.execute(cases.update().where(cases.c.id == case_id).values(state=RESOLVED, resolved_at=at))
            row = db.execute(sa.select(decisions).where(decisions.c.id == decision_id)).one()
        return as_dict(row)

    def rejected_variants(self, case_id: str) -> List[str]:
        """The variants (each draft's resolve piece) of every batch agents rejected in this case:
        the case is not offered them again."""
        rejected = sa.select(decisions.c.batch).where(decisions.c.case_id == case_id, decisions.c.action == "reject")
        with self.engine.connect() as db:
            found = db.execute(sa.select(drafts.c.variant_id).where(drafts.c.case_id == case_id, drafts.c.batch.in_(rejected))
                               .order_by(drafts.c.id)).scalars()
            return list(dict.fromkeys(v for v in found if v))


def _final_text(action: str, draft, text: Optional[str]) -> Optional[str]:
    if action == "approve":
        if draft is None:
            raise ValueError("approve needs a draft_id")
        return draft.text
    if action == "edit":
        if not text or not text.strip():
            raise ValueError("edit needs a non-empty text")
        return text.strip()
    return None
