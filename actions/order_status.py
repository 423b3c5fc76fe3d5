"""order_status: what the order form ends in (the number given, or a question needing none).

A general question (一般几天能到, 发什么快递) gets the shop's shipping answer, even when an order was
looked up before; an order number gets the order's status from the order store, in one message. An
order whose promised date has passed is said to be late (never "expected by" a date gone by) and
goes to a person in the same message; so does a number the store does not know.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .person import hand_over, person_first
from .shop import OrderStoreError, find_order, order_template_values, policy, response_text
from assist.drafting.first_line import general_question, masked_number, order_number

STATUS_RESPONSES = {
    "unpaid": "utter_order_unpaid",
    "paid": "utter_order_paid",
    "shipped": "utter_order_in_transit",
    "in_transit": "utter_order_in_transit",
    "delivered": "utter_order_delivered",
    "cancelled": "utter_order_cancelled",
}
LATE_RESPONSES = {"paid": "utter_order_late_paid", "shipped": "utter_order_late_in_transit",
                  "in_transit": "utter_order_late_in_transit"}


class ActionOrderStatus(Action):
    def name(self) -> Text:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        handed = await person_first(dispatcher, tracker)  # 我的快递到底在哪！！ in anger: a person
        if handed is not None:
            return handed
        text = tracker.latest_message.get("text") or ""
        number = order_number(text, tracker.latest_message.get("entities") or ()) or masked_number(text)
        answer = None if number else general_question(text, policy())
        if answer:
            dispatcher.utter_message(text=answer.text)
            return []
        number = number or tracker.get_slot("order_id")
        if not number:
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        return await answer_order(dispatcher, tracker, domain, number)


async def answer_order(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                       number: str) -> List[Dict[Text, Any]]:
    """The order's status in one message; late or unknown: said, and handed to a person. A number
    nobody can read (an order card the channel masked) goes to a person who can see the order."""
    if not number.isdigit():
        return await hand_over(dispatcher, tracker, told=response_text(domain, "utter_order_for_colleague"))
    try:
        order = await find_order(number)
    except OrderStoreError:
        dispatcher.utter_message(response="utter_order_store_down", order_id=number)
        return [SlotSet("order_id", number)]
    if order is None:
        told = response_text(domain, "utter_order_not_found", order_id=number)
        return [SlotSet("order_id", None)] + await hand_over(dispatcher, tracker, told=told)
    values = order_template_values(order)
    remembered = [SlotSet("order_id", order.order_id), SlotSet("carrier", order.carrier)]
    if values["overdue"]:
        told = response_text(domain, LATE_RESPONSES[order.status], **values)
        return remembered + await hand_over(dispatcher, tracker, told=told)
    dispatcher.utter_message(response=STATUS_RESPONSES[order.status], **{k: v for k, v in values.items() if k != "overdue"})
    return remembered
