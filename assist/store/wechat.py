"""What the WeChat Official Account channel (kefu_rasa/wechat.py) keeps, shared by every Rasa instance:

- the keys of the messages WeChat pushed and of the deliveries sent through its customer-service
  API (`first_time`, `seen`, `record`): WeChat retries a message it got no answer for within 5 s,
  the console's outbox retries a push whose answer it did not get, and either retry may land on
  another instance — a recorded key is never handed to Rasa, or sent to the customer, twice;
- the API access token (`token`, `take_token_refresh`, `save_token`, `expire_token`), refreshed by
  one instance at a time.

Nothing about the customer but the OpenID inside an event's key (the conversation's own id).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .db import now
from .channel_tables import wechat_messages, wechat_tokens

# A retry comes within seconds (WeChat: three tries in about 15 s) or within the hour (the outbox's
# attempts); keys older than this are deleted, a few at a time, by whoever records a new one.
KEEP = timedelta(days=7)
PURGE_EVERY = timedelta(minutes=10)


class WeChatRecords:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._purged_at: Optional[datetime] = None

    # ---- messages and deliveries, once -----------------------------------------------------------
    def first_time(self, key: str) -> bool:
        """Record `key`; False when it was recorded before, by this instance or another."""
        self._purge_now_and_then()
        try:
            with self.engine.begin() as db:
                db.execute(wechat_messages.insert().values(key=key, at=now()))
        except IntegrityError:
            return False
        return True

    def seen(self, key: str) -> bool:
        with self.engine.connect() as db:
            return db.execute(sa.select(wechat_messages.c.key).where(wechat_messages.c.key == key)).first() is not None

    def record(self, key: str) -> None:
        """Record `key` (recorded already is fine)."""
        self.first_time(key)

    def _purge_now_and_then(self) -> None:
        at = now()
        if self._purged_at is not None and at - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = at
        with self.engine.begin() as db:
            db.execute(wechat_messages.delete().where(wechat_messages.c.at < at - KEEP))

    # ---- the access token ------------------------------------------------------------------------
    def token(self, app_id: str) -> Optional[Tuple[str, datetime]]:
        """The shared token and when it expires, or None."""
        with self.engine.connect() as db:
            row = db.execute(sa.select(wechat_tokens).where(wechat_tokens.c.app_id == app_id)).first()
        if row is None or not row.access_token or row.expires_at is None:
            return None
        return row.access_token, row.expires_at

    def take_token_refresh(self, app_id: str, lease: timedelta) -> bool:
        """The right to fetch a new token for `lease`; False while another instance holds it."""
        at = now()
        try:
            with self.engine.begin() as db:
                db.execute(wechat_tokens.insert().values(app_id=app_id))
        except IntegrityError:
            pass  # the row is there (the usual case)
        with self.engine.begin() as db:
            taken = db.execute(wechat_tokens.update().where(
                wechat_tokens.c.app_id == app_id,
                sa.or_(wechat_tokens.c.refreshing_until.is_(None), wechat_tokens.c.refreshing_until <= at),
            ).values(refreshing_until=at + lease))
        return taken.rowcount == 1

    def save_token(self, app_id: str, token: str, expires_at: datetime) -> None:
        """The token just fetched; the refresh lease ends."""
        with self.engine.begin() as db:
            db.execute(wechat_tokens.update().where(wechat_tokens.c.app_id == app_id)
                       .values(access_token=token, expires_at=expires_at, refreshing_until=None))

    def release_token_refresh(self, app_id: str) -> None:
        """The fetch failed: another instance may try at once."""
        with self.engine.begin() as db:
            db.execute(wechat_tokens.update().where(wechat_tokens.c.app_id == app_id).values(refreshing_until=None))

    def expire_token(self, app_id: str, token: str) -> None:
        """WeChat refused `token` (40001: someone fetched a newer one): the next caller refreshes,
        unless another instance already replaced it."""
        with self.engine.begin() as db:
            db.execute(wechat_tokens.update().where(wechat_tokens.c.app_id == app_id, wechat_tokens.c.access_token == token)
                       .values(expires_at=now()))
