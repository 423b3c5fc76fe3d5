"""nlu_fallback and out_of_scope: the message read again with the shop's own words before the bot
says it did not understand, or that the question is not the shop's.

In turn: a customer who needs a person gets one (asked of the case service, as the event follower
would); an order number gets the order's status; a question the shop's FAQ answers gets the answer
(发成都大概要几天 read as out of scope); a closing, thanks, an acknowledgement or a parcel that arrived
gets the matching reply (没事了, 好的那我备注一下, 签收了); a question we cannot place is offered a
colleague; only then the rephrase or out-of-scope reply.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from .order_status import answer_order
from .person import person_first
from .shop import policy
from assist.drafting import faq
from assist.drafting.first_line import is_question, order_number, small_talk

SMALL_TALK_RESPONSES = {"closes": "utter_goodbye", "cancels": "utter_deny", "thanks": "utter_thanks",
                        "arrived": "utter_arrived", "acknowledges": "utter_affirm", "greets": "utter_greet"}


class ActionReread(Action):
    def name(self) -> Text:
        return "action_reread"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        handed = await person_first(dispatcher, tracker)
        if handed is not None:
            return handed
        text = tracker.latest_message.get("text") or ""
        number = order_number(text, tracker.latest_message.get("entities") or ())
        if number:
            return await answer_order(dispatcher, tracker, domain, number)
        answer = faq.answer(text, policy())
        if answer:
            dispatcher.utter_message(text=answer.text)
            return []
        talk = small_talk(text)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        fallback = "utter_out_of_scope" if intent == "out_of_scope" else "utter_ask_rephrase"
        if fallback == "utter_ask_rephrase" and is_question(text):
            fallback = "utter_product_question_for_colleague"  # a clear question we cannot place: no menu
        dispatcher.utter_message(response=SMALL_TALK_RESPONSES.get(talk, fallback))
        return []
