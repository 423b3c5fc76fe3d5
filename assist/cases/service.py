"""The case service: the only writer of case state.

Every way a case's life moves goes through here — a customer's message (from the handoff action
inside Rasa's turn, or from the console's event follower after it), an agent's decision, a
correction, a resolution, the wait timer — so a case looks the same whoever opened it: the order
is looked up, the shop's chat context is read, the drafts are ranked by agents' acceptance and
the model and template versions are recorded.

`on_customer_message` is idempotent per message id: the action and the follower both call it
for the same message, and the second call changes nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from assist.cases.acts import CANCEL_REPLY, is_cancel
from assist.cases.facts import gather
from assist.drafting.acceptance import Acceptance, nlu_reading
from assist.drafting.acceptance_cache import acceptance_cache
from assist.drafting.handoff import Handoff, draft_for, needs_person, read_situation
from assist.drafting.holding import holding_message, wait_update_message
from assist.drafting.shop_checks import load_checked_policy
from assist.drafting.situation import build_situation
from assist.shop.policy import Policy
from assist.shop.versions import current_versions
from assist.store import CANCELLED, OPEN, RESOLVED, Claimed, SuggestionStore
from assist.store.db import now as store_now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CustomerMessage:
    """One message as Rasa saw it. `parse` is Rasa's parse (intent, intent_ranking, entities);
    `history` the customer's earlier words when no case holds them yet (or a function that reads
    them, called only then); `remembered` what Rasa's slots keep from earlier turns (order_id …)."""

    conversation_id: str
    text: str                      # as the customer typed it (agents read it verbatim)
    message_id: str                # unique per message: Rasa's message id, else the event's
    channel: Optional[str] = None
    parse: Mapping[str, Any] = field(default_factory=dict)
    history: Union[Sequence[str], Callable[[], Sequence[str]]] = ()
    remembered: Mapping[str, Any] = field(default_factory=dict)

    @property
    def intent(self) -> Optional[str]:
        return (self.parse.get("intent") or {}).get("name")

    @property
    def key(self) -> str:
        return f"msg:{self.message_id}"

    def earlier_words(self) -> List[str]:
        return list(self.history() if callable(self.history) else self.history)


@dataclass(frozen=True)
class Outcome:
    """What happened: none (the bot answers it), opened, joined, cancelled, duplicate (seen before)."""

    kind: str
    case_id: Optional[str] = None
    batch: Optional[int] = None
    holding_text: Optional[str] = None  # opened: what the customer is told while a person takes over
    reply_text: Optional[str] = None    # cancelled: the goodbye that was queued


class CaseService:
    def __init__(self, store: SuggestionStore, find_order: Optional[Callable[[str], Any]] = None,
                 policy: Optional[Callable[[], Policy]] = None,
                 acceptance: Optional[Callable[[], Optional[Acceptance]]] = None):
        self.store = store
        self.find_order = find_order
        self._policy = policy or load_checked_policy
        if acceptance is None:
            cache = acceptance_cache(lambda: store)  # agents' record, reloaded every few minutes
            acceptance = (lambda: cache.get()) if cache is not None else (lambda: None)
        self._acceptance = acceptance

    # ---- the customer -----------------------------------------------------------------------
    def on_customer_message(self, message: CustomerMessage, hand_over: bool = False,
                            hold_through_outbox: bool = False) -> Outcome:
        """Join the open case, cancel it, or open one when the message needs a person (always,
        with `hand_over`: Rasa's rules decided). `hold_through_outbox`: the holding message goes
        out through the outbox (the follower's way); else the caller says it (the action's way)."""
        if not message.text.strip():
            return Outcome("none")
        case = self.store.cases.open_case_for(message.conversation_id)
        if case is not None:
            return self._join(case, message)
        facts = gather({}, message.parse.get("entities") or (), message.remembered,
                       self.store.customers.chat_context(message.conversation_id), self.find_order)
        situation = read_situation(message.text, message.intent, message.parse.get("intent_ranking"),
                                   message.parse.get("entities"), message.earlier_words(), facts)
        if not (hand_over or needs_person(message.intent, situation)):
            return Outcome("none")
        handoff = self._draft(situation)
        opened = self.store.cases.open_case(
            message.conversation_id, self._stored(handoff, message.parse), handoff.drafts, message.text,
            channel=message.channel, source_key=message.key, created_by="follower" if hold_through_outbox else "action",
            versions=current_versions(),
        )
        if opened.get("duplicate"):
            return Outcome("duplicate", opened["id"], opened["batch"])
        if hold_through_outbox and not opened["joined"]:
            self.store.outbox.queue_message(opened["id"], handoff.holding_text, kind="holding", once_key=holding_key(message))
            logger.info("opened case %s for %s from the event stream", opened["id"], message.conversation_id)
        return Outcome("joined" if opened["joined"] else "opened", opened["id"], opened["batch"], handoff.holding_text)

    def _join(self, case: Dict[str, Any], message: CustomerMessage) -> Outcome:
        if not self.store.cases.add_message(case["id"], "customer", message.text, source_key=message.key):
            return Outcome("duplicate", case["id"], case["batch"])
        if is_cancel(message.text, message.intent):
            self.store.cases.close_case(case["id"], state=CANCELLED, notify_text=CANCEL_REPLY)
            return Outcome("cancelled", case["id"], reply_text=CANCEL_REPLY)
        batch = self._redraft(case["id"], message.intent, message.parse)
        return Outcome("joined", case["id"], batch)

    def _redraft(self, case_id: str, intent: Optional[str], parse: Mapping[str, Any]) -> int:
        """Fresh drafts for the customer's latest words, with everything the case knows."""
        detail = self.store.cases.get_case(case_id)
        said = [m["text"] for m in detail["messages"] if m["sender"] == "customer"]
        known = (detail.get("situation") or {}).get("facts") or {}
        facts = gather(known, parse.get("entities") or (), {}, self.store.customers.chat_context(detail["conversation_id"]),
                       self.find_order)
        situation = read_situation(said[-1] if said else "", intent, parse.get("intent_ranking"), parse.get("entities"),
                                   said[:-1], facts)
        handoff = self._draft(situation)
        return self.store.cases.redraft(case_id, self._stored(handoff, parse), handoff.drafts, versions=current_versions())

    def _draft(self, situation) -> Handoff:
        return draft_for(situation, policy=self._policy(), acceptance=self._acceptance())

    @staticmethod
    def _stored(handoff: Handoff, parse: Mapping[str, Any]) -> Dict[str, Any]:
        return dict(handoff.situation_dict, nlu=nlu_reading(parse))

    def holding_text(self, case_id: str) -> str:
        """The holding message for a case that is already open: the follower says it when the
        action opened the case but its own holding message never reached the customer."""
        case = self.store.cases.get_case(case_id)
        said = [m["text"] for m in case["messages"] if m["sender"] == "customer"]
        situation = build_situation(said[0] if said else "", intent=(case.get("concerns") or [None])[0])
        return holding_message(situation, self._policy())

    # ---- the agents -------------------------------------------------------------------------
    def may_answer(self, case_id: str, agent: str) -> None:
        """A case another agent has claimed is theirs to answer until someone takes it over."""
        holder = self.store.claims.claimed_by(case_id)
        if holder and holder != agent:
            raise Claimed(f"{holder} is answering this case; take it over first", holder)

    def decide(self, case_id: str, agent: str, action: str, **decision: Any) -> Dict[str, Any]:
        """approve / edit / reject the current drafts (assist/store/decisions.py), once per batch."""
        self.may_answer(case_id, agent)
        return self.store.decisions.decide(case_id, agent, action, **decision)

    def resolve(self, case_id: str, agent: str) -> Dict[str, Any]:
        self.may_answer(case_id, agent)
        return self.store.cases.close_case(case_id, RESOLVED)

    def correct(self, case_id: str, agent: str, concern: str) -> Dict[str, Any]:
        """"This is a refund, not a complaint": recorded for the bot builders, fresh drafts made
        with the corrected concern (and the acceptance record, versions and NLU reading as always)."""
        correction = self.store.learning.correct_concern(case_id, agent, concern)
        case = self.store.cases.get_case(case_id)
        if case["state"] == OPEN:
            parse = {"intent": {"name": concern}}
            nlu = (case.get("situation") or {}).get("nlu") or {}
            if nlu.get("ranking"):
                parse["intent_ranking"] = nlu["ranking"]
            self._redraft(case_id, concern, parse)
        return correction

    def claim(self, case_id: str, agent: str, takeover: bool = False) -> Dict[str, Any]:
        return self.store.claims.claim_case(case_id, agent, takeover=takeover)

    def release(self, case_id: str, agent: str) -> bool:
        return self.store.claims.release_claim(case_id, agent)

    # ---- the clock --------------------------------------------------------------------------
    def send_wait_updates(self, wait_seconds: float, max_updates: int, now: Optional[datetime] = None) -> int:
        """An honest update to customers waiting longer than the limit for a person's answer.
        `now` is aware; the message speaks of the shop's hours in the shop's timezone."""
        now = now or store_now()
        sent = 0
        for case in self.store.queue.open_queue(limit=100_000):
            # waiting_since is None once a person answered the customer's latest words.
            if case["wait_updates"] >= max_updates or not case["waiting_since"]:
                continue
            if now - datetime.fromisoformat(case["waiting_since"]) < timedelta(seconds=wait_seconds * (case["wait_updates"] + 1)):
                continue
            situation = build_situation(case["last_customer_text"] or "", intent=(case["concerns"] or [None])[0])
            self.store.outbox.queue_message(case["id"], wait_update_message(situation, self._policy(), now=now), kind="update")
            sent += 1
        return sent


def holding_key(message: CustomerMessage) -> str:
    """One holding message per customer message, whoever queues it and however often."""
    return f"hold:{message.key}"


def customer_texts(events: List[Mapping[str, Any]], limit: int = 6) -> List[str]:
    """The customer's earlier words from Rasa events, oldest first (the latest excluded)."""
    texts = [e.get("text") or "" for e in events if e.get("event") == "user" and e.get("text")]
    return texts[:-1][-limit:]
