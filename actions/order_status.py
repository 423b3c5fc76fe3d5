"""order_status: answer from the order store; a late order goes on to a person."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .shop import OrderStoreError, find_order, latest_entity, order_template_values, policy
from assist.drafting import faq

STATUS_RESPONSES = {
    "unpaid": "utter_order_unpaid",
    "paid": "utter_order_paid",
    "shipped": "utter_order_in_transit",
    "in_transit": "utter_order_in_transit",
    "delivered": "utter_order_delivered",
    "cancelled": "utter_order_cancelled",
}


class ActionOrderStatus(Action):
    def name(self) -> Text:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        order_id = latest_entity(tracker, "order_id")
        if not order_id:
            # "几天能到西安?" before buying: the shop's shipping FAQ answers it.
            text = tracker.latest_message.get("text") or ""
            answer = faq.answer(text, policy(), intent="order_status") or faq.answer(text, policy())
            if answer:
                dispatcher.utter_message(text=answer.text)
            else:
                dispatcher.utter_message(response="utter_ask_order_id")
            return []
        try:
            order = await find_order(order_id)
        except OrderStoreError:
            dispatcher.utter_message(response="utter_order_store_down", order_id=order_id)
            return [SlotSet("order_id", order_id)]
        if order is None:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return [SlotSet("order_id", None)]
        values = order_template_values(order)
        dispatcher.utter_message(response=STATUS_RESPONSES[order.status], **values)
        events: List[Dict[Text, Any]] = [SlotSet("order_id", order.order_id), SlotSet("carrier", order.carrier)]
        if values["days_late"] > 0:
            dispatcher.utter_message(response="utter_order_late", **values)
            events.append(FollowupAction("action_handoff"))
        return events
