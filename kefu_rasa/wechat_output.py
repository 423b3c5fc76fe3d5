"""How the bot's and the agents' texts reach a WeChat customer (kefu_rasa/wechat.py has the input side).

Inside a customer's turn (`Turn`, `WeChatTurnOutput`): WeChat waits 5 s for the answer to its push
and shows one message from it (the passive reply). The turn's first bot message, when it is ready
within KEFU_WECHAT_REPLY_SECONDS, is that reply; every later one, and all of them once the window
has closed, goes through the customer-service message API — only after the passive reply was
written, so the customer reads them in order.

After the turn (`WeChatPushOutput`): the console's outbox pushes an agent's reply, the holding
message or a wait update through Rasa's API, which hands it to this channel's output: the
customer-service API with the cached access token. WeChat's refusals that no retry can cure (45015:
the customer has not written for 48 hours) fail the push with REFUSED_MARK and the reason, so the
outbox shows the delivery failed and never retries it; transient errors fail it plainly and the
outbox retries. A client cannot drop a message it has already shown, as kefu's web chat does, so the
channel records every delivery id it sent (in the store, across instances) and sends none twice.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import OutputChannel

from assist.integrations.rasa import REFUSED_MARK
from assist.integrations.wechat_api import WeChatApi, WeChatRefused
from assist.store.wechat import WeChatRecords

logger = logging.getLogger(__name__)
IN_TURN_TRIES = 3  # a bot message inside the turn has no outbox behind it: a few quick tries


class PushRefused(RuntimeError):
    """WeChat will never take this push; the text carries REFUSED_MARK and the reason (Rasa answers 500 with it)."""


class PushFailed(RuntimeError):
    """WeChat did not take this push now; the outbox tries again."""


class Turn:
    """One customer message's answer: the passive reply's slot, and when it was written."""

    def __init__(self) -> None:
        self._passive: asyncio.Future = asyncio.get_running_loop().create_future()
        self.answered = asyncio.Event()

    def offer(self, text: Text) -> bool:
        """Take `text` as the passive reply, if the window is open and no message took it yet."""
        if self._passive.done():
            return False
        self._passive.set_result(text)
        return True

    def close(self) -> None:
        """The answer to WeChat was written, or WeChat hung up: no passive reply any more, and the turn's
        messages go through the customer-service API from now on."""
        if not self._passive.done():
            self._passive.set_result(None)
        self.answered.set()

    async def passive_reply(self, turn: "asyncio.Task[Any]", seconds: float) -> Optional[Text]:
        """The first bot message if it comes within `seconds`; None when the turn ended without one or
        the window closed first. Either way the window is closed afterwards."""
        await asyncio.wait({self._passive, turn}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        if not self._passive.done():
            self._passive.set_result(None)
        return self._passive.result()


class _WeChatText(OutputChannel):
    """Text only: WeChat's text messages have no buttons, so their titles become lines of the text."""

    @classmethod
    def name(cls) -> Text:
        return "wechat"  # also the channel of a response variation (`channel: wechat` in domain.yml)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        lines = [text] + [f"· {b.get('title')}" for b in buttons if b.get("title")]
        await self.send_text_message(recipient_id, "\n".join(lines), **kwargs)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        logger.info("a custom payload for %s was not sent: the WeChat channel sends texts only", recipient_id)


class WeChatTurnOutput(_WeChatText):
    def __init__(self, turn: Turn, api: WeChatApi) -> None:
        self.turn, self.api = turn, api

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        if self.turn.offer(text):
            return
        await self.turn.answered.wait()
        try:
            await asyncio.to_thread(self.api.send_text, recipient_id, text, IN_TURN_TRIES)
        except Exception as error:  # WeChatRefused, or the shared token's store is down
            # Failing the turn would lose the customer's message itself (kefu's callback channel does the same).
            logger.error("a bot message for %s did not reach WeChat: %s", recipient_id, error)


class WeChatPushOutput(_WeChatText):
    def __init__(self, api: WeChatApi, records: WeChatRecords) -> None:
        self.api, self.records = api, records

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        key = kwargs.get("kefu_delivery")
        sent = f"out:{key}" if key else None
        if sent and await asyncio.to_thread(self.records.seen, sent):
            logger.info("delivery %s reached WeChat before (its answer was lost): not sent again", key)
            return
        try:
            await asyncio.to_thread(self.api.send_text, recipient_id, text)
        except WeChatRefused as error:
            if error.permanent:
                raise PushRefused(f"{REFUSED_MARK} {error}") from None
            raise PushFailed(f"WeChat did not take delivery {key or 'without id'} (tried again later): {error}") from None
        if sent:
            try:
                await asyncio.to_thread(self.records.record, sent)
            except Exception as error:  # the customer has the text: the push succeeded
                logger.warning("delivery %s reached WeChat but could not be recorded (%s): the tracker check still "
                               "keeps a retry from sending it again", key, error)
