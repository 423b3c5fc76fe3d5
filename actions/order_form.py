"""The order form's Rasa SDK side: `order_form` (domain.yml) asks for the order number and takes the
next message as the answer (requested_slot; the slot's from_text mapping) — a bare 2023110188, an
order card, 订单号是… — whatever NLU made of the words.

validate_order_form decides (assist/drafting/first_line.answer_to_order_ask): a number fills the
slot; 不知道订单号 / 好的 / an order question without one asks once more, in words that fit
(slot `order_ask`, read by action_ask_order_id); anything else rejects the form, and the rules
(data/rules.yml, "while we wait for the order number") let it go and answer the message. When the
form opens on a message that already has the number, or on a general question (一般几天能到), it
asks nothing.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .shop import policy
from assist.drafting.first_line import answer_to_order_ask, general_question, masked_number, order_number

ASK_RESPONSES = {"first": "utter_ask_order_id", "wait": "utter_ask_order_id_wait", "where": "utter_where_order_id",
                 "unclear": "utter_ask_order_id_again"}


class ValidateOrderForm(Action):
    def name(self) -> Text:
        return "validate_order_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        text = tracker.latest_message.get("text") or ""
        entities = tracker.latest_message.get("entities") or ()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if tracker.get_slot("requested_slot") == "order_id":  # we asked: does this answer?
            kind, value = answer_to_order_ask(text, intent, entities, policy())
            if kind == "number":
                return [SlotSet("order_id", value), SlotSet("order_ask", None)]
            if kind == "again":
                return [SlotSet("order_id", None), SlotSet("order_ask", value)]
            return [SlotSet("order_id", None), SlotSet("order_ask", None), ActionExecutionRejected("order_form")]
        # The form opens: ask only when the number is missing and the question is about an order.
        if (order_number(text, entities) or masked_number(text) or tracker.get_slot("order_id")
                or general_question(text, policy())):
            return [SlotSet("requested_slot", None)]
        return [SlotSet("order_ask", "first")]


class ActionAskOrderId(Action):
    """The order form's question, in words that fit what the customer just said."""

    def name(self) -> Text:
        return "action_ask_order_id"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response=ASK_RESPONSES.get(tracker.get_slot("order_ask") or "first", "utter_ask_order_id"))
        return []
