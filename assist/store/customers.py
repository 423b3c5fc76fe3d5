"""What the customer's side adds: the shop's context for a web-chat conversation (order and
customer ids from the shop's page) and the satisfaction rating, once per resolved case."""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .db import AlreadyHandled, NotFound, WrongState, dumps, now, require_case
from .schema import RESOLVED, cases, chat_contexts, ratings


class Customers:
    def __init__(self, engine: Engine):
        self.engine = engine

    def set_chat_context(self, conversation_id: str, context: Dict[str, str], verified: bool = False) -> None:
        with self.engine.begin() as db:
            db.execute(chat_contexts.delete().where(chat_contexts.c.conversation_id == conversation_id))
            db.execute(chat_contexts.insert().values(
                conversation_id=conversation_id, context=dumps(context), verified=verified, updated_at=now(),
            ))

    def chat_context(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as db:
            row = db.execute(sa.select(chat_contexts).where(chat_contexts.c.conversation_id == conversation_id)).first()
        if row is None:
            return None
        return {"context": json.loads(row.context), "verified": bool(row.verified), "updated_at": row.updated_at.isoformat()}

    def rate_case(self, conversation_id: str, case_id: str, score: int) -> Dict[str, Any]:
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise ValueError("score must be an integer from 1 to 5")
        at = now()
        with self.engine.begin() as db:
            case = require_case(db, case_id)
            if case.conversation_id != conversation_id:
                raise NotFound(f"no case {case_id} in this conversation")
            if case.state != RESOLVED:
                raise WrongState(f"case {case_id} is {case.state}; only resolved cases are rated")
            try:
                with db.begin_nested():
                    db.execute(ratings.insert().values(case_id=case_id, conversation_id=conversation_id, score=score, at=at))
            except IntegrityError:
                raise AlreadyHandled(f"case {case_id} was already rated") from None
            db.execute(cases.update().where(cases.c.id == case_id).values(rating=score))
        return {"case_id": case_id, "score": score, "at": at.isoformat()}
