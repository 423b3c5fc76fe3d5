"""A customer's message sent again is not a second turn: the idempotent receiver on Rasa's side.

A client whose answer was lost (a read timeout, a proxy that cut the connection after the turn was
saved) cannot know whether its message landed, so it sends it again with the same `message_id`
(kefu's web chat, REST and callback clients keep one id per message); Rasa 3.6 would log the message
twice and answer it twice. (A turn still running when its client hangs up is cancelled by Sanic and
saves nothing, so its retry is simply the turn.) Here the retry's turn, holding the conversation's
lock as any turn does, looks in the tracker Rasa has just read for it: a user event with the same
message id among the recent events ends the turn before anything is logged: nothing saved, no action
run, nothing published. A REST client gets the answers that turn gave (the bot's messages after that user event);
a callback client got them at its URL; a socket.io client catches up with `kefu_since`.

Only turns started by a channel (`MessageProcessor.handle_message`) are guarded; Rasa's HTTP API
(`/conversations/<id>/messages`) keeps its behaviour. The search costs no read: Rasa fetched the
tracker for the turn anyway.
"""
from __future__ import annotations

import contextvars
import logging
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.callback import CallbackOutput
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, UserUttered

logger = logging.getLogger(__name__)
RECENT_EVENTS = 300  # how far back a repeat is looked for (a client retries within minutes, not days)

_guarded: contextvars.ContextVar = contextvars.ContextVar("kefu_guarded_turn", default=False)


class RepeatedMessage(Exception):
    """The message is in the tracker already; `answers` are what the bot said after it."""

    def __init__(self, answers: List[Dict[Text, Any]]):
        super().__init__("repeated message")
        self.answers = answers


def earlier_answers(events: List[Any], message_id: Optional[Text], recipient: Text) -> Optional[List[Dict[Text, Any]]]:
    """The bot's messages after the user event with this id (a list, maybe empty), or None: not there."""
    if not message_id:
        return None
    recent = events[-RECENT_EVENTS:]
    for at in range(len(recent) - 1, -1, -1):
        event = recent[at]
        if isinstance(event, UserUttered) and event.message_id == message_id:
            answers = []
            for later in recent[at + 1:]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):
                    answers.append({"recipient_id": recipient, "text": later.text,
                                    **{key: value for key, value in (later.data or {}).items() if value}})
            return answers
    return None


async def answer_again(output: Any, answers: List[Dict[Text, Any]]) -> None:
    """A REST client reads the answers from its channel's collector (Rasa's webhook answers with
    `collector.messages`); a callback client got them at its URL, and is not sent them twice."""
    if isinstance(output, CallbackOutput):
        return
    if isinstance(output, QueueOutputChannel):  # ?stream=true
        for answer in answers:
            await output.messages.put(answer)
    elif isinstance(output, CollectingOutputChannel):
        output.messages.extend(answers)


def install() -> None:
    """Guard every MessageProcessor (idempotent)."""
    if getattr(MessageProcessor.handle_message, "kefu_guarded", False):
        return
    handle_message = MessageProcessor.handle_message
    with_tracker = MessageProcessor._handle_message_with_tracker

    async def guarded_handle_message(self: MessageProcessor, message: UserMessage):
        token = _guarded.set(True)
        try:
            return await handle_message(self, message)
        except RepeatedMessage as repeated:
            logger.info("message %s of %s came again (a client's retry): answered from its turn, not a second turn",
                        message.message_id, message.sender_id)
            await answer_again(message.output_channel, repeated.answers)
            return repeated.answers if isinstance(message.output_channel, CollectingOutputChannel) else None
        finally:
            _guarded.reset(token)

    async def guarded_with_tracker(self: MessageProcessor, message: UserMessage, tracker) -> None:
        if _guarded.get():
            answers = earlier_answers(list(tracker.events), message.message_id, message.sender_id)
            if answers is not None:
                raise RepeatedMessage(answers)
        await with_tracker(self, message, tracker)

    guarded_handle_message.kefu_guarded = True  # type: ignore[attr-defined]
    MessageProcessor.handle_message = guarded_handle_message
    MessageProcessor._handle_message_with_tracker = guarded_with_tracker
    logger.info("kefu: a message sent again with its message_id is not a second turn (kefu_rasa/repeated_messages.py)")
