"""Delivers queued texts (agents' decisions, holding messages, updates) to customers via Rasa.

Exactly once is at-least-once plus a receiver that drops what it has shown:
- an attempt is counted (and the row held for a lease) *before* the text is sent; when the store
  cannot record it, nothing is sent;
- a row with an earlier attempt is sent again only after Rasa's tracker was checked for its
  delivery id (the earlier push may have landed though its answer was lost);
- that check cannot see a push Rasa has emitted but not yet saved (Rasa is slow, the console died
  mid-request), so every pushed message carries its delivery id to the customer's client (kefu's
  socket.io and callback channels, kefu_rasa/channels.py), which shows an id once.
A delivery leaves the outbox only when Rasa confirmed it. While Rasa is down it stays pending and
is retried with exponential backoff; the console shows it as pending, then failed after the last try.
A text the customer's channel refuses for good (WeChat's 48-hour rule: DeliveryRefused) fails at
once with the channel's reason and is never tried again; what the decision asked of the bot
(resume after it, or the holding pause) still happens.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional

from assist.integrations.rasa import DeliveryRefused, RasaClient, RasaUnavailable, delivery_key
from assist.store import SuggestionStore

logger = logging.getLogger(__name__)
DEFAULT_LEASE = timedelta(seconds=11)


def backoff(attempts: int, cap: float) -> timedelta:
    return timedelta(seconds=min(cap, 2 ** max(0, attempts - 1)))


def deliver_due(store: SuggestionStore, rasa: RasaClient, retry_cap: float = 60.0, max_attempts: int = 50,
                lease: timedelta = DEFAULT_LEASE,
                on_delivered: Optional[Callable[[Dict[str, Any]], None]] = None, workers: int = 1) -> Dict[str, int]:
    """One pass over the due deliveries. Blocking: run it in a thread. A store error propagates
    (the loop backs off); nothing is sent that the store has not counted. `on_delivered(delivery)`
    hears of each delivery Rasa confirmed (the console's metrics and log line). `workers`: how many
    conversations are served at once — a push waits on Rasa (its turn lock, its channel), so one
    conversation's wait does not hold up the others; one conversation's texts go one after another,
    in order, and stop at the first that must be retried."""
    counts = {"delivered": 0, "retry": 0, "refused": 0}
    by_conversation: Dict[str, List[Dict[str, Any]]] = {}
    for delivery in store.outbox.due():
        by_conversation.setdefault(delivery["conversation_id"], []).append(delivery)

    def serve(queue: List[Dict[str, Any]]) -> List[str]:
        outcomes = []
        for delivery in queue:
            outcome = _deliver_one(store, rasa, delivery, retry_cap, max_attempts, lease, on_delivered)
            outcomes.append(outcome)
            if outcome == "retry":
                break  # the conversation's later texts wait for this one
        return outcomes

    queues = list(by_conversation.values())
    if workers > 1 and len(queues) > 1:
        with ThreadPoolExecutor(min(workers, len(queues)), thread_name_prefix="outbox") as pool:
            results = list(pool.map(serve, queues))
    else:
        results = [serve(queue) for queue in queues]
    for outcome in (o for outcomes in results for o in outcomes):
        if outcome in counts:
            counts[outcome] += 1
    return counts


def _deliver_one(store: SuggestionStore, rasa: RasaClient, delivery: Dict[str, Any], retry_cap: float, max_attempts: int,
                 lease: timedelta, on_delivered: Optional[Callable[[Dict[str, Any]], None]]) -> str:
    """delivered, retry, refused — or taken (another console has this attempt)."""
    if not store.outbox.start_attempt(delivery, lease):
        return "taken"
    attempts = delivery["attempts"] + 1
    key = delivery_key(delivery["id"])
    try:
        # An earlier attempt may have landed: ask the tracker before sending again.
        if not (delivery["attempts"] and delivery["text"] and rasa.was_delivered(delivery["conversation_id"], key)):
            try:
                rasa.deliver(
                    delivery["conversation_id"], delivery["channel"], delivery["text"], key,
                    resume=delivery["resume_bot"], pause=delivery["kind"] == "holding",
                    sender="agent" if delivery["kind"] == "agent" else "bot",
                )
            except DeliveryRefused as refused:
                _refused(store, rasa, delivery, key, str(refused))
                return "refused"
    except RasaUnavailable as error:
        give_up = attempts >= max_attempts
        store.outbox.retry_later(delivery["id"], str(error), backoff(attempts, retry_cap), give_up=give_up)
        if attempts == 1 or give_up:
            logger.warning("delivery %s not delivered (attempt %s%s) case=%s conversation=%s: %s", delivery["id"], attempts,
                           ", giving up" if give_up else "; retrying with backoff", delivery["case_id"],
                           delivery["conversation_id"], error)
        return "retry"
    store.outbox.mark_delivered(delivery["id"])
    if on_delivered:
        on_delivered(delivery)
    return "delivered"


def _refused(store: SuggestionStore, rasa: RasaClient, delivery: Dict[str, Any], key: str, reason: str) -> None:
    """The channel will never take this text: failed now, with its reason. Rasa saved nothing of the
    refused push, so the resume or pause the delivery carried is appended without the text (a
    RasaUnavailable here leaves the delivery pending: the next attempt is refused again and tries this
    again)."""
    if delivery["resume_bot"] or delivery["kind"] == "holding":
        rasa.deliver(delivery["conversation_id"], None, "", key, resume=delivery["resume_bot"],
                     pause=delivery["kind"] == "holding")
    store.outbox.retry_later(delivery["id"], reason, timedelta(0), give_up=True)
    logger.warning("delivery %s refused for good by the %s channel, not retried case=%s conversation=%s: %s", delivery["id"],
                   delivery["channel"], delivery["case_id"], delivery["conversation_id"], reason)
