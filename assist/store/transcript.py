"""A case's transcript: customer, bot and agent messages, each joined at most once."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .schema import cases, messages


def add_message(db: Connection, case_id: str, sender: str, text: str, at: datetime, source_key: Optional[str],
                image_id: Optional[str] = None) -> bool:
    """False when the same source event (its key) already joined this case. `image_id`: the photo it carried."""
    try:
        with db.begin_nested():
            db.execute(messages.insert().values(case_id=case_id, sender=sender, text=text, at=at, source_key=source_key,
                                                image_id=image_id))
    except IntegrityError:
        return False
    if sender == "customer":
        db.execute(cases.update().where(cases.c.id == case_id).values(last_customer_at=at))
    return True


def last_customer_text(db: Connection, case_id: str) -> Optional[str]:
    return db.execute(
        sa.select(messages.c.text).where(messages.c.case_id == case_id, messages.c.sender == "customer")
        .order_by(messages.c.id.desc()).limit(1)
    ).scalar()
