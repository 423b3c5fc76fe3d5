"""The one handoff action: complaints, haggling, late parcels, refunds, and requests for a person.

It hands the message to the case service (assist/cases/), which opens or joins the case with
the order looked up and drafts ranked for the agents; the customer hears honestly what happens
next and the bot pauses until an agent resolves the case. The case work runs in a thread, so a
slow order store never stalls other conversations, and the action answers within
KEFU_HANDOFF_DEADLINE_SECONDS whatever the store does: past it the customer gets the generic
holding message and the case work finishes in the background (or, if it fails, the console's
event follower opens the case from Rasa's event stream; the case service takes each message once).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from .shop import case_service, customer_message, policy
from assist.drafting import faq
from assist.settings import get_settings

logger = logging.getLogger(__name__)


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        message = customer_message(tracker)
        work = asyncio.ensure_future(asyncio.to_thread(lambda: case_service().on_customer_message(message, hand_over=True)))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(work), get_settings().handoff_deadline_seconds)
            holding = outcome.holding_text
        except asyncio.TimeoutError:
            logger.warning("the case for %s is taking long (the store is slow); answering now, finishing it after",
                           message.conversation_id)
            work.add_done_callback(_log_failure)
            holding = None
        except Exception:
            # The customer is never left without an answer; the console's event follower opens
            # the case from Rasa's event stream instead.
            logger.exception("the case could not be opened here; the event follower will open it")
            holding = None
        # A rules question (七天无理由吗? 运费谁出?) gets the shop's answer right away.
        answer = faq.answer(message.text, policy(), intent=message.intent)
        if answer:
            dispatcher.utter_message(text=answer.text)
        if holding:
            dispatcher.utter_message(text=holding)
        else:
            dispatcher.utter_message(response="utter_handoff_holding")
        return [ConversationPaused()]


def _log_failure(work: "asyncio.Future") -> None:
    if not work.cancelled() and work.exception() is not None:
        logger.error("the late case work failed (%s); the event follower will open the case", work.exception())
