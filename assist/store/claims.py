"""Claims: which agent is answering a case, and every time a case changes hands.

An agent claims an open case by opening it; taking over someone else's case is explicit. A case
is handed on with a note for the receiver: by its holder to a colleague (transfer) or by a
supervisor to anyone, or back to the shared queue (reassign). Every change is a row of
kefu_claims: who holds it after, who held it before, who did it, when, and the note.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .db import Claimed, iso, now, require_case, UnknownAgent
from .schema import HANDOVERS, OPEN, agents, cases, claim_log


def _same_claim(holder: Optional[str]):
    return cases.c.claimed_by.is_(None) if holder is None else cases.c.claimed_by == holder


def handover_of(row) -> Dict[str, Any]:
    return {"kind": row.kind, "to": row.agent, "from": row.previous, "by": row.by_agent, "note": row.note, "at": iso(row.at)}


class Claims:
    def __init__(self, engine: Engine):
        self.engine = engine

    def claim_case(self, case_id: str, agent: str, takeover: bool = False) -> Dict[str, Any]:
        """Claim an open case for `agent`. Someone else's claim stands unless `takeover`."""
        with self.engine.begin() as db:
            case = require_case(db, case_id, state=OPEN)
            if case.claimed_by == agent:
                return {"case_id": case_id, "claimed_by": agent, "previous": agent, "changed": False}
            if case.claimed_by and not takeover:
                raise Claimed(f"case {case_id} is being answered by {case.claimed_by}; take it over explicitly", case.claimed_by)
            _move(db, case_id, case.claimed_by, agent, "takeover" if case.claimed_by else "claim", by=agent)
        return {"case_id": case_id, "claimed_by": agent, "previous": case.claimed_by, "changed": True}

    def hand_over(self, case_id: str, by: str, to: Optional[str], note: Optional[str], kind: str,
                  holders: Optional[Sequence[Optional[str]]] = None) -> Dict[str, Any]:
        """Give an open case to the agent `to` (None: back to the shared queue), recorded with who
        did it and the note. `holders`: whom the case may be with now (None: anyone) — a transfer
        is its holder's, or an unclaimed case's; someone else's claim is 409 `claimed`."""
        if kind not in HANDOVERS:
            raise ValueError(f"kind must be one of {HANDOVERS}")
        with self.engine.begin() as db:
            case = require_case(db, case_id, state=OPEN)
            if holders is not None and case.claimed_by not in holders:
                raise Claimed(f"{case.claimed_by} is answering case {case_id}; only they or a supervisor can hand it on",
                              case.claimed_by)
            if to is not None and db.execute(sa.select(agents.c.name).where(agents.c.name == to)).first() is None:
                raise UnknownAgent(f"no agent named {to}")
            row = _move(db, case_id, case.claimed_by, to, kind, by=by, note=note)
        return {"case_id": case_id, "claimed_by": to, **handover_of(row)}

    def handovers(self, case_id: str) -> List[Dict[str, Any]]:
        """The case's transfers and reassignments, oldest first."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(claim_log).where(claim_log.c.case_id == case_id, claim_log.c.kind.in_(HANDOVERS))
                              .order_by(claim_log.c.id)).all()
        return [handover_of(r) for r in rows]

    def claimed_by(self, case_id: str) -> Optional[str]:
        with self.engine.connect() as db:
            return require_case(db, case_id).claimed_by

    def release_claim(self, case_id: str, agent: str) -> bool:
        """Give a case back to the queue; only its holder can."""
        with self.engine.begin() as db:
            require_case(db, case_id)
            updated = db.execute(cases.update().where(cases.c.id == case_id, cases.c.claimed_by == agent).values(claimed_by=None))
            if updated.rowcount:
                db.execute(claim_log.insert().values(case_id=case_id, agent=None, previous=agent, kind="release", at=now(),
                                                     by_agent=agent))
            return bool(updated.rowcount)


def _move(db: Connection, case_id: str, holder: Optional[str], to: Optional[str], kind: str, by: str,
          note: Optional[str] = None):
    """Compare-and-set: of two agents moving one case at once, one wins and the other sees the claim."""
    updated = db.execute(cases.update().where(cases.c.id == case_id, _same_claim(holder)).values(claimed_by=to))
    if updated.rowcount != 1:
        now_holder = db.execute(sa.select(cases.c.claimed_by).where(cases.c.id == case_id)).scalar()
        raise Claimed(f"case {case_id} was just claimed by {now_holder}", now_holder or "")
    logged = db.execute(claim_log.insert().values(
        case_id=case_id, agent=to, previous=holder, kind=kind, at=now(), by_agent=by, note=note,
    )).inserted_primary_key[0]
    return db.execute(sa.select(claim_log).where(claim_log.c.id == logged)).one()
