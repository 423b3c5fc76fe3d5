"""The suggestion store: cases, their messages, drafts, agents' decisions and the delivery outbox,
with the console's own records. SQLAlchemy 1.4 Core on a SQLite file by default, PostgreSQL (any
SQLAlchemy URL) by configuration; Alembic migrations (assist/store/migrations) build the schema.

One small facade, one part per entity:

    store = SuggestionStore()                 # KEFU_STORE_URL; refuses a schema that is behind
    store.cases.open_case(...)  store.decisions.decide(...)  store.outbox.due()
    store.agents  store.claims  store.customers  store.learning  store.follower  store.dead_letters
    store.wechat (the WeChat channel's once-only keys and its shared API token)
    store.images (photos customers sent: rows here, files in data_dir/images)
    store.callback_posts (bot messages the callback client did not take yet, retried by the Rasa servers)
    store.queue.open_queue()  store.records.search_cases(q)  store.figures.figures(days)
    store.vitals (readiness and metrics: writable?, outbox, open cases by stage, waiting, decisions)
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .agents import Agents
from .callback_posts import CallbackPosts
from .cases import Cases
from .claims import Claims
from .customers import Customers
from .dead_letters import DeadLetters
from .db import (AlreadyHandled, Claimed, NotFound, StoreError, StoreUnavailable, UnknownAgent, WrongState, is_unavailable,
                 make_engine, short_error)
from .decisions import DECISION_ACTIONS, Decisions, edit_distance
from .figures import Figures
from .follower import FollowerPositions
from .images import Images
from .learning import LearningRecords
from .migrate import MIGRATE_COMMAND, SchemaBehind, require_current, upgrade
from .outbox import Outbox
from .queue import Queue, waiting_since
from .records import Records
from .schema import ABANDONED, AGENT, CANCELLED, DELIVERED, FAILED, OPEN, PENDING, RESOLVED, ROLES, SUPERVISOR
from .vitals import Vitals
from .wechat import WeChatRecords


class SuggestionStore:
    def __init__(self, url: Optional[str] = None, check_schema: bool = True, image_dir: Optional[Path] = None):
        if url is None or image_dir is None:
            from assist.settings import get_settings

            url = url or get_settings().store_url
            image_dir = image_dir or get_settings().data_dir / "images"
        self.url = url
        self.engine = make_engine(url)
        if check_schema:
            require_current(self.engine)
        self.cases = Cases(self.engine)
        self.decisions = Decisions(self.engine)
        self.outbox = Outbox(self.engine)
        self.agents = Agents(self.engine)
        self.claims = Claims(self.engine)
        self.customers = Customers(self.engine)
        self.learning = LearningRecords(self.engine)
        self.follower = FollowerPositions(self.engine)
        self.dead_letters = DeadLetters(self.engine)
        self.queue = Queue(self.engine)
        self.records = Records(self.engine)
        self.figures = Figures(self.engine)
        self.vitals = Vitals(self.engine)
        self.wechat = WeChatRecords(self.engine)
        self.images = Images(self.engine, image_dir)
        self.callback_posts = CallbackPosts(self.engine)

    @classmethod
    def migrated(cls, url: str, image_dir: Optional[Path] = None) -> "SuggestionStore":
        """Migrate the database at `url` first (tests, tools that own their database, in-memory ones)."""
        store = cls(url, check_schema=False, image_dir=image_dir)
        upgrade(store.engine)
        return store


__all__ = [
    "SuggestionStore", "StoreError", "StoreUnavailable", "is_unavailable", "short_error", "NotFound", "WrongState",
    "AlreadyHandled", "Claimed", "UnknownAgent", "SchemaBehind",
    "MIGRATE_COMMAND", "upgrade", "edit_distance", "waiting_since", "DECISION_ACTIONS",
    "OPEN", "RESOLVED", "CANCELLED", "ABANDONED", "PENDING", "DELIVERED", "FAILED", "AGENT", "SUPERVISOR", "ROLES",
]
