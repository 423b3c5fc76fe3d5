"""action_session_start: Rasa's own session start, plus the pause of a conversation a person has.

Rasa starts a new session after `session_expiration_time` idle minutes (domain.yml) and a new
session un-pauses the bot (DialogueStateTracker._reset). A customer whose case is still open must
not get the bot back because an hour went by: while the case is open, the new session starts paused,
and the customer's message joins the case (the console's event follower). The slots are carried
over as Rasa's default does with `carry_over_slots_to_new_session: true`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import shop

logger = logging.getLogger(__name__)
NOT_CARRIED = ("requested_slot", "order_ask")  # a question asked in the old session is not pending in the new one


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        events: List[Dict[Text, Any]] = [SessionStarted()]
        if (domain.get("session_config") or {}).get("carry_over_slots_to_new_session", True):
            events += [SlotSet(name, value) for name, value in tracker.slots.items()
                       if value is not None and name not in NOT_CARRIED]
        try:
            case = await asyncio.to_thread(shop.case_service().store.cases.open_case_for, tracker.sender_id)
        except Exception as error:  # noqa: BLE001 - the store down must not stop the conversation
            logger.error("could not check %s for an open case at session start (%s)", tracker.sender_id, error)
            case = None
        if case is not None:
            events.append(ConversationPaused())  # a person has this conversation, whatever the session
        return events + [ActionExecuted("action_listen")]
