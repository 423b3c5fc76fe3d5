"""product_inquiry: answer from the shop's FAQ in assist/shop/policy.yml, else offer a colleague;
a customer who needs a person instead (angry, a fault in the words) gets one."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from .person import person_first
from .shop import policy
from assist.drafting import faq


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        handed = await person_first(dispatcher, tracker)
        if handed is not None:
            return handed
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        # The intent's own FAQ entries first, then any entry (payment asked as an order question).
        answer = faq.answer(text, policy(), intent=intent) or faq.answer(text, policy())
        if answer:
            dispatcher.utter_message(text=answer.text)
        else:
            dispatcher.utter_message(response="utter_product_question_for_colleague")
        return []
