"""Follows Rasa's event stream (the SQL event broker's `events` table) into the suggestion store.

- A customer message in a conversation with an open case joins the case (the bot is paused
  and stays quiet) and gets a fresh batch of drafts; 算了不用了 cancels the wait.
- A message that needs a person but has no case — the action server was unreachable, or the
  customer is angry on an intent the bot answers itself — opens the case here and queues the
  holding message (which also pauses the bot), so nobody is left without an answer.
- The bot's own messages (the holding message) join the transcript.
Rasa saves a turn's events after the turn, so by the time a message is read here the handoff
action has already written its case; the message id keeps a message from joining twice.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from assist.handoff import draft_for, needs_person, prepare, read_situation
from assist.learning import acceptance_cache, nlu_reading
from assist.store import CANCELLED, SuggestionStore
from assist.textnorm import normalize
from assist.versions import current_versions

logger = logging.getLogger(__name__)

CANCEL = re.compile(r"(算了|不用了|不需要了|取消(人工|转人工)?|没事了|不麻烦了)")
CANCEL_REPLY = "好的，已经为您取消人工服务啦～ 如果还有需要，随时找我哦。"


def is_cancel(text: str, intent: Optional[str]) -> bool:
    """A short 算了/不用了, or a plain deny, while waiting for a person."""
    norm = normalize(text)
    return (len(norm) <= 12 and bool(CANCEL.search(norm))) or (intent == "deny" and len(norm) <= 6)


class EventFollower:
    def __init__(self, store: SuggestionStore, events_url: str, name: str = "console"):
        self.store = store
        self.name = name
        if events_url.startswith("sqlite:///"):
            self.engine = sa.create_engine(events_url, future=True, connect_args={"timeout": 30})
        else:
            self.engine = sa.create_engine(events_url, future=True, pool_pre_ping=True)
        self.events = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("data"))
        self.learning = acceptance_cache(lambda: store)  # agents' acceptance record, reloaded every few minutes

    def poll(self, limit: int = 500) -> int:
        """Read and handle the events after our bookmark. Blocking: run it in a thread."""
        position = self.store.follower.position(self.name)
        try:
            with self.engine.connect() as db:
                rows = db.execute(
                    sa.select(self.events.c.id, self.events.c.sender_id, self.events.c.data)
                    .where(self.events.c.id > position).order_by(self.events.c.id).limit(limit)
                ).all()
        except sa.exc.OperationalError:
            return 0  # Rasa has not written its first event yet
        for row in rows:
            try:
                self.handle(row.id, row.sender_id, json.loads(row.data))
            except Exception:  # one bad event must not stop the stream
                logger.exception("event %s of %s could not be handled", row.id, row.sender_id)
        if rows:
            # One bookmark write per batch; a batch replayed after a crash is harmless, since
            # every message joins a case at most once (its message id is a unique key).
            self.store.follower.set_position(self.name, rows[-1].id)
        return len(rows)

    def handle(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "user":
            self._customer_message(event_id, conversation_id, event)
        elif kind == "bot" and not (event.get("metadata") or {}).get("kefu_delivery"):
            case = self.store.cases.open_case_for(conversation_id)
            if case and event.get("text"):
                self.store.cases.add_message(case["id"], "bot", event["text"], source_key=f"evt:{event_id}")

    def _customer_message(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        text = event.get("text") or ""
        if not text.strip():
            return
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        key = f"msg:{event.get('message_id') or event_id}"
        channel = event.get("input_channel")
        case = self.store.cases.open_case_for(conversation_id)
        if case is not None:
            joined = self.store.cases.add_message(case["id"], "customer", text, source_key=key)
            if not joined:
                return  # the handoff action already recorded this message
            if is_cancel(text, intent):
                self.store.cases.close_case(case["id"], state=CANCELLED, notify_text=CANCEL_REPLY)
                return
            detail = self.store.cases.get_case(case["id"])
            history = [m["text"] for m in detail["messages"] if m["sender"] == "customer"][:-1]
            facts = (detail.get("situation") or {}).get("facts") or {}
            handoff = prepare(text, intent, parse.get("intent_ranking"), parse.get("entities"), history, facts,
                              acceptance=self._acceptance())
            self.store.cases.redraft(case["id"], dict(handoff.situation_dict, nlu=nlu_reading(parse)), handoff.drafts,
                               versions=current_versions())
            return
        # Most messages never need a person: decide from the situation before drafting anything.
        situation = read_situation(text, intent, parse.get("intent_ranking"), parse.get("entities"),
                                   self._recent_texts(conversation_id))
        if not needs_person(intent, situation):
            return
        handoff = draft_for(situation, acceptance=self._acceptance())
        opened = self.store.cases.open_case(
            conversation_id, dict(handoff.situation_dict, nlu=nlu_reading(parse)), handoff.drafts, text,
            channel=channel, source_key=key, created_by="follower", versions=current_versions(),
        )
        if not opened["joined"]:
            self.store.outbox.queue_message(opened["id"], handoff.holding_text, kind="holding")
            logger.info("opened case %s for %s from the event stream", opened["id"], conversation_id)

    def _acceptance(self):
        return self.learning.get() if self.learning is not None else None

    def _recent_texts(self, conversation_id: str, limit: int = 6) -> List[str]:
        """The customer's earlier messages, for mood trend and repetition."""
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(self.events.c.data).where(self.events.c.sender_id == conversation_id)
                .order_by(self.events.c.id.desc()).limit(40)
            ).all()
        texts = []
        for row in rows:
            data = json.loads(row.data)
            if data.get("event") == "user" and data.get("text"):
                texts.append(data["text"])
        return list(reversed(texts[1 : limit + 1]))
