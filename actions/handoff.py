"""The one handoff action: complaints, haggling, late parcels, refunds, and requests for a person.

A question about the shop's rules (能退货吗, 运费谁出, 退款多久到账: NLU reads these as refund_return
or price_haggle) gets the shop's answer and no hand-over, unless the customer is upset. Anything
else goes to the case service (actions/person.py): the case opens with the order looked up and
drafts ranked for the agents, the customer hears honestly what happens next, and the bot pauses
until an agent resolves the case.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from .person import hand_over, person_first
from .shop import customer_words, policy
from assist.drafting.first_line import rules_question


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        answer = rules_question(customer_words(tracker), intent, policy())
        if answer is None:
            return await hand_over(dispatcher, tracker)
        handed = await person_first(dispatcher, tracker)  # 七天无理由?! said in anger: a person
        if handed is not None:
            return handed
        dispatcher.utter_message(text=answer.text)
        return []
