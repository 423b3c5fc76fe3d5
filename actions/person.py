"""Handing a conversation to a person, shared by the actions that may do it: the handoff, a late or
unknown order, and any bot answer given to a customer who needs a person instead.

The case work runs in a thread, so a slow order store never stalls other conversations, and the
customer hears within KEFU_HANDOFF_DEADLINE_SECONDS whatever the store does: past it the generic
holding message goes out and the case work finishes in the background (or, if it fails, the
console's event follower opens the case from Rasa's event stream; the case service takes each
message once). Not an action itself (the action server registers Action subclasses only).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from . import shop
from assist.settings import get_settings

logger = logging.getLogger(__name__)


async def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, told: Optional[str] = None) -> List[Dict[Text, Any]]:
    """Open (or join) the case and pause the bot. The customer gets one message: `told` (what the
    bot found, e.g. the order is 2 days late) followed by the holding message."""
    message = shop.customer_message(tracker)
    work = asyncio.ensure_future(asyncio.to_thread(lambda: shop.case_service().on_customer_message(message, hand_over=True)))
    try:
        outcome = await asyncio.wait_for(asyncio.shield(work), get_settings().handoff_deadline_seconds)
        holding = outcome.holding_text
    except asyncio.TimeoutError:
        logger.warning("the case for %s is taking long (the store is slow); answering now, finishing it after",
                       message.conversation_id)
        work.add_done_callback(_log_failure)
        holding = None
    except Exception:
        # The customer is never left without an answer; the event follower opens the case instead.
        logger.exception("the case could not be opened here; the event follower will open it")
        holding = None
    if holding:
        dispatcher.utter_message(text=f"{told or ''}{holding}")
    else:
        if told:
            dispatcher.utter_message(text=told)
        dispatcher.utter_message(response="utter_handoff_holding")
    return [ConversationPaused()]


async def person_first(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[Dict[Text, Any]]]:
    """Before the bot answers a message itself: does it need a person (an angry customer, a problem
    the cue words show, a case already open)? Then hand over and return the events; None: the bot
    answers. The question is the case service's own, so the event follower never adds a second voice.
    A store too slow to say within the deadline lets the bot answer."""
    message = shop.customer_message(tracker)

    def wanted() -> bool:
        service = shop.case_service()
        return service.store.cases.open_case_for(message.conversation_id) is not None or service.needs_person(message)

    try:
        needed = await asyncio.wait_for(asyncio.to_thread(wanted), get_settings().handoff_deadline_seconds)
    except Exception as error:  # noqa: BLE001 - a bot answer beats none
        logger.warning("could not tell whether %s needs a person (%s); the bot answers", message.conversation_id, error)
        return None
    return await hand_over(dispatcher, tracker) if needed else None


def _log_failure(work: "asyncio.Future") -> None:
    if not work.cancelled() and work.exception() is not None:
        logger.error("the late case work failed (%s); the event follower will open the case", work.exception())
