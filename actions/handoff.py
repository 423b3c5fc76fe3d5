"""The one handoff action: complaints, haggling, late parcels, refunds, and requests for a person.

It reads the situation from the tracker, asks assist/ for ranked drafts, opens a case in the
suggestion store for the agents, tells the customer honestly what happens next, and pauses
the bot for this conversation until an agent resolves the case. Drafting takes milliseconds,
so the conversation lock is never held long.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from .shop import (OrderStoreError, acceptance, customer_history, customer_words, find_order, latest_entity, policy,
                   suggestion_store)
from assist import faq
from assist.handoff import prepare
from assist.learning import nlu_reading
from assist.versions import current_versions

logger = logging.getLogger(__name__)


async def order_facts(tracker: Tracker) -> Dict[str, Any]:
    facts: Dict[str, Any] = {}
    for name in ("order_id", "carrier", "product", "duration"):
        value = latest_entity(tracker, name)
        if value:
            facts[name] = value
    if not facts.get("order_id"):
        # The order the shop's page passed into the chat (console/WEBCHAT.md). Read from the
        # store, where the console put it after checking the shop's signature — not from the
        # message metadata, which the customer's browser could change.
        try:
            stored = await asyncio.to_thread(suggestion_store().customers.chat_context, tracker.sender_id)
        except Exception:  # the store being down must not cost the customer their answer
            logger.exception("chat context unavailable")
            stored = None
        if stored and stored["context"].get("order_id"):
            facts["order_id"] = stored["context"]["order_id"]
            facts["order_id_from_shop"] = "verified" if stored["verified"] else "unsigned"
    if facts.get("order_id"):
        try:
            order = await find_order(facts["order_id"])
        except OrderStoreError as error:
            logger.warning("order lookup failed: %s", error)
            order = None
        if order is not None:
            facts.update({k: v for k, v in order.to_facts().items() if v is not None})
    return facts


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        text = customer_words(tracker)
        intent: Optional[str] = (message.get("intent") or {}).get("name")
        try:
            learned = await asyncio.to_thread(acceptance)
            handoff = prepare(
                text, intent, message.get("intent_ranking"), message.get("entities"),
                customer_history(tracker), await order_facts(tracker), policy(), acceptance=learned,
            )
        except Exception:  # the customer must never be left without an answer
            logger.exception("drafting core failed; sending the plain holding response")
            dispatcher.utter_message(response="utter_handoff_holding")
            return [ConversationPaused()]
        try:
            await asyncio.to_thread(
                suggestion_store().cases.open_case, tracker.sender_id, dict(handoff.situation_dict, nlu=nlu_reading(message)),
                handoff.drafts, text, channel=tracker.get_latest_input_channel(),
                source_key=f"msg:{message.get('message_id')}", versions=current_versions(),
            )
        except Exception:
            # The console's event follower opens the case from Rasa's event stream instead.
            logger.exception("suggestion store unavailable; the event follower will open the case")
        # A rules question (七天无理由吗? 运费谁出?) gets the shop's answer right away.
        answer = faq.answer(text, policy(), intent=intent)
        if answer:
            dispatcher.utter_message(text=answer.text)
        dispatcher.utter_message(text=handoff.holding_text)
        return [ConversationPaused()]
