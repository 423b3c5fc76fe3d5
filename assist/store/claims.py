"""Claims: which agent is answering a case. Taking over someone else's case is explicit."""
from __future__ import annotations

from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import Claimed, now, require_case
from .schema import OPEN, cases, claim_log


def _same_claim(holder: Optional[str]):
    return cases.c.claimed_by.is_(None) if holder is None else cases.c.claimed_by == holder


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
            # Compare-and-set: of two agents claiming at once, one wins and the other sees the claim.
            updated = db.execute(cases.update().where(cases.c.id == case_id, _same_claim(case.claimed_by)).values(claimed_by=agent))
            if updated.rowcount != 1:
                holder = db.execute(sa.select(cases.c.claimed_by).where(cases.c.id == case_id)).scalar()
                raise Claimed(f"case {case_id} was just claimed by {holder}", holder or "")
            db.execute(claim_log.insert().values(
                case_id=case_id, agent=agent, previous=case.claimed_by, kind="takeover" if case.claimed_by else "claim", at=now(),
            ))
        return {"case_id": case_id, "claimed_by": agent, "previous": case.claimed_by, "changed": True}

    def claimed_by(self, case_id: str) -> Optional[str]:
        with self.engine.connect() as db:
            return require_case(db, case_id).claimed_by

    def release_claim(self, case_id: str, agent: str) -> bool:
        """Give a case back to the queue; only its holder can."""
        with self.engine.begin() as db:
            require_case(db, case_id)
            updated = db.execute(cases.update().where(cases.c.id == case_id, cases.c.claimed_by == agent).values(claimed_by=None))
            if updated.rowcount:
                db.execute(claim_log.insert().values(case_id=case_id, agent=None, previous=agent, kind="release", at=now()))
            return bool(updated.rowcount)
