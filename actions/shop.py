"""What the actions share: the shop policy and the order store, opened once per process."""
from __future__ import annotations

import asyncio
from datetime import datetime
from functools import lru_cache
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

from assist.learning import Acceptance, acceptance_cache
from assist.orders import Order, OrderStoreError, open_order_store
from assist.policy import load_policy
from assist.store import SuggestionStore


@lru_cache(maxsize=1)
def policy():
    return load_policy()


@lru_cache(maxsize=1)
def order_store():
    return open_order_store()


@lru_cache(maxsize=1)
def suggestion_store() -> SuggestionStore:
    """KEFU_STORE_URL (any SQLAlchemy URL), default the SQLite file in .kefu/."""
    return SuggestionStore()


@lru_cache(maxsize=1)
def _acceptance_cache():
    return acceptance_cache(suggestion_store)


def acceptance() -> Optional[Acceptance]:
    """Agents' acceptance record for ranking drafts, reloaded every few minutes (a reload
    blocks: call it in a thread). None when KEFU_LEARNING=off."""
    cache = _acceptance_cache()
    return cache.get() if cache is not None else None


async def find_order(order_id: str) -> Optional[Order]:
    """Look the order up off the event loop: a slow order API must not stall other chats."""
    return await asyncio.to_thread(order_store().find, order_id)


def latest_entity(tracker: Tracker, name: str) -> Optional[str]:
    """The entity from the latest message, else the slot remembered from earlier."""
    value = next(tracker.get_latest_entity_values(name), None)
    return value or tracker.get_slot(name)


def customer_words(tracker: Tracker) -> str:
    """The latest message as the customer wrote it. latest_message["text"] is what NLU read,
    after our normaliser (simplified characters, half-width punctuation); agents see the original."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("text") or ""
    return tracker.latest_message.get("text") or ""


def customer_history(tracker: Tracker, limit: int = 6) -> List[str]:
    """The customer's earlier messages in this session, oldest first (latest excluded)."""
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    return texts[:-1][-limit:]


def order_template_values(order: Order, now: Optional[datetime] = None) -> Dict[str, Any]:
    """Values for the utter_order_* responses: no None reaches the customer."""
    facts = order.to_facts(now)

    def when(value: Optional[datetime]) -> str:
        return value.strftime("%m月%d日") if value else "近期"

    return {
        "order_id": order.order_id,
        "product": order.product or "商品",
        "carrier": order.carrier or "快递",
        "tracking_no": order.tracking_no or "稍后更新",
        "last_location": order.last_location or "暂无更新",
        "last_update_at": order.last_update_at.strftime("%m月%d日 %H:%M") if order.last_update_at else "暂无",
        "promised_by": when(order.promised_by),
        "days_late": facts["days_late"],
    }


__all__ = ["customer_words", "policy", "order_store", "suggestion_store", "acceptance", "find_order", "latest_entity", "customer_history", "order_template_values", "OrderStoreError"]
