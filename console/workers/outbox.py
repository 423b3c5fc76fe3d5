"""Delivers queued texts (agents' decisions, holding messages, updates) to customers via Rasa.

A delivery leaves the outbox only when Rasa confirmed it. While Rasa is down it stays
pending and is retried with exponential backoff; the console shows it as pending.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Callable, Dict, Optional

from assist.store import SuggestionStore
from assist.integrations.rasa import RasaClient, RasaUnavailable

logger = logging.getLogger(__name__)


def backoff(attempts: int, cap: float) -> timedelta:
    return timedelta(seconds=min(cap, 2 ** max(0, attempts - 1)))


def deliver_due(store: SuggestionStore, rasa: RasaClient, retry_cap: float = 60.0, max_attempts: int = 50,
                on_delivered: Optional[Callable[[Dict[str, Any]], None]] = None) -> Dict[str, int]:
    """One pass over the due deliveries. Blocking: run it in a thread. `on_delivered(delivery)`
    hears of each delivery Rasa confirmed (the console's metrics and log line)."""
    counts = {"delivered": 0, "retry": 0}
    for delivery in store.outbox.due():
        key = f"d{delivery['id']}"
        try:
            # A retry first asks Rasa whether the earlier attempt landed after all.
            if delivery["attempts"] and delivery["text"] and rasa.was_delivered(delivery["conversation_id"], key):
                store.outbox.mark_delivered(delivery["id"])
                counts["delivered"] += 1
                if on_delivered:
                    on_delivered(delivery)
                continue
            rasa.deliver(
                delivery["conversation_id"], delivery["channel"], delivery["text"], key,
                resume=delivery["resume_bot"], pause=delivery["kind"] == "holding",
                sender="agent" if delivery["kind"] == "agent" else "bot",
            )
        except RasaUnavailable as error:
            attempts = delivery["attempts"] + 1
            give_up = attempts >= max_attempts
            store.outbox.mark_attempt_failed(delivery["id"], str(error), backoff(attempts, retry_cap), give_up=give_up)
            logger.warning("delivery %s not delivered (attempt %s) case=%s conversation=%s: %s", delivery["id"], attempts,
                           delivery["case_id"], delivery["conversation_id"], error)
            counts["retry"] += 1
            continue
        store.outbox.mark_delivered(delivery["id"])
        counts["delivered"] += 1
        if on_delivered:
            on_delivered(delivery)
    return counts
