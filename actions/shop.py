"""What the actions share: the shop policy, the order store and the case service, opened once
per process, and the tracker read into the case service's terms."""
from __future__ import annotations

import asyncio
from datetime import datetime
from functools import lru_cache
from typing import Any, Dict, Optional

from rasa_sdk import Tracker

from assist.cases.messages import CustomerMessage, customer_texts, earlier_messages, image_of, stranded_handover
from assist.cases.service import CaseService
from assist.drafting.shop_checks import load_checked_policy
from assist.integrations.orders import Order, OrderStoreError, open_order_store
from assist.store import SuggestionStore

REMEMBERED = ("order_id", "carrier", "product", "duration")


@lru_cache(maxsize=1)
def policy():
    return load_checked_policy()


@lru_cache(maxsize=1)
def order_store():
    return open_order_store()


@lru_cache(maxsize=1)
def case_service() -> CaseService:
    """The suggestion store at KEFU_STORE_URL and the order store at KEFU_ORDERS (assist/settings.py)."""
    return CaseService(SuggestionStore(), find_order=order_store().find)


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


def customer_message(tracker: Tracker) -> CustomerMessage:
    latest = tracker.latest_message or {}
    return CustomerMessage(
        conversation_id=tracker.sender_id, text=customer_words(tracker), message_id=str(latest.get("message_id")),
        channel=tracker.get_latest_input_channel(), parse=latest, history=customer_texts(tracker.events),
        remembered={name: tracker.get_slot(name) for name in REMEMBERED if tracker.get_slot(name)},
        image_id=image_of(next((e.get("metadata") for e in reversed(tracker.events) if e.get("event") == "user"), None)),
        earlier=earlier_messages(tracker.events),
        stranded=stranded_handover(tracker.events, tracker.sender_id, tracker.get_latest_input_channel()),
    )


def order_template_values(order: Order, now: Optional[datetime] = None) -> Dict[str, Any]:
    """Values for the utter_order_* responses: no None reaches the customer. `overdue`: the promised
    date has passed (the bot then says it is late and hands over; it never states a passed date)."""
    facts = order.to_facts(now)
    overdue = bool(order.promised_by and order.promised_by < (now or datetime.now())
                   and order.status in ("paid", "shipped", "in_transit"))

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
        "overdue": overdue,
        "late_by": f"{facts['days_late']}天" if facts["days_late"] else "几个小时",
    }


def response_text(domain: Dict[str, Any], name: str, **values: Any) -> str:
    """A domain response's first text with its {slots} filled, to join with another message (one
    clear answer instead of several). Unknown slots stay as written, like Rasa's own interpolator."""
    text = ((domain.get("responses") or {}).get(name) or [{}])[0].get("text") or ""
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


__all__ = ["customer_words", "customer_message", "policy", "order_store", "case_service", "find_order", "latest_entity",
           "order_template_values", "response_text", "OrderStoreError"]
