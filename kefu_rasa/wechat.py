"""A Rasa channel for a WeChat Official Account (公众号): customers write to the account, the bot and
the agents answer. Named in credentials.yml; its settings come from the environment (KEFU_WECHAT_*,
docs/CONFIGURATION.md):

    kefu_rasa.wechat.WeChatInput:

and the account's 服务器配置 URL is https://<your host>/webhooks/wechat/webhook (GET for WeChat's
URL check, POST for the messages). What it does with WeChat's push:

- checks every request's signature (token, timestamp, nonce) and answers 403 to one that fails;
  opens safe-mode (AES) messages and encrypts the reply to them; answers 400 to a signed request that
  is not a WeChat message, before anything is recorded;
- records each message's key (MsgId; an event's sender + CreateTime) in the store before Rasa sees
  it: WeChat's retry of a message (it retries three times when it got no answer within 5 s), on this
  instance or another, never reaches Rasa again. A retry that reaches this instance while the first
  is still answered gets the same answer; elsewhere, "success" (an empty answer);
- a text goes to Rasa, with the OpenID as the sender id (nothing else about the customer is kept):
  the first bot message ready within KEFU_WECHAT_REPLY_SECONDS is the passive reply, the rest go
  through the customer-service API (kefu_rasa/wechat_output.py);
- subscribe (following the account) is greeted with the domain's `utter_wechat_subscribe`; a
  picture or video gets `utter_wechat_image`, a voice message `utter_wechat_voice` (the bot cannot
  read them yet: they say what it can take) — except a picture while a person has the case: it is
  fetched, kept and joins the case as a photo (kefu_rasa/wechat_photos.py). Other events (unsubscribe, menu clicks, locations) are
  answered "success" and nothing else;
- later texts (an agent's reply, wait updates) come through `get_output_channel()`: Rasa's API with
  `output_channel=wechat`, as the console's outbox pushes them.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assist.integrations.wechat_api import WeChatApi
from assist.integrations.wechat_messages import (IMAGE, SUBSCRIBE, TEXT, VOICE, BadSignature, Envelope, Incoming, Malformed,
                                                 SafeModeOff, handshake)
from assist.settings import Settings, get_settings
from assist.store import SuggestionStore, short_error
from assist.store.wechat import WeChatRecords
from kefu_rasa.channels import bound_action_calls
from kefu_rasa.wechat_output import Turn, WeChatPushOutput, WeChatTurnOutput
from kefu_rasa.wechat_photos import PHOTO_TEXT, WeChatPhotos

logger = logging.getLogger(__name__)
RESPONSES = {SUBSCRIBE: "utter_wechat_subscribe", IMAGE: "utter_wechat_image", VOICE: "utter_wechat_voice"}
MAX_BODY = 64 * 1024     # WeChat's pushes are a few hundred bytes
REMEMBER_SECONDS = 30.0  # WeChat's three retries come within about 15 s
SUCCESS = "success"      # WeChat's "answered, nothing to show"


class RecentAnswers:
    """The answers this instance gave (or is about to give) to recent messages, by key: WeChat's
    retry of a message whose answer it did not get receives the same answer."""

    def __init__(self, seconds: float = REMEMBER_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.seconds, self.clock = seconds, clock
        self._answers: "OrderedDict[str, tuple]" = OrderedDict()

    def start(self, key: str) -> "asyncio.Future[str]":
        self._forget_old()
        answer = asyncio.get_running_loop().create_future()
        self._answers[key] = (self.clock(), answer)
        return answer

    async def again(self, key: str, wait: float) -> str:
        found = self._answers.get(key)
        if found is None:
            return SUCCESS  # handled by another instance: its answer went to WeChat's earlier try
        try:
            return await asyncio.wait_for(asyncio.shield(found[1]), timeout=wait)
        except asyncio.TimeoutError:
            return SUCCESS

    def _forget_old(self) -> None:
        while self._answers and self.clock() - next(iter(self._answers.values()))[0] > self.seconds:
            self._answers.popitem(last=False)


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WeChatInput":
        if credentials:
            raise RasaException(f"{cls.__module__}.WeChatInput takes no credentials.yml keys ({', '.join(credentials)}): its "
                                "settings are KEFU_WECHAT_APP_ID, KEFU_WECHAT_APP_SECRET, KEFU_WECHAT_TOKEN, KEFU_WECHAT_AES_KEY "
                                "in the environment (docs/CONFIGURATION.md), so no secret sits in credentials.yml")
        settings = get_settings()
        bound_action_calls(settings.action_timeout_seconds)
        return cls(settings)

    def __init__(self, settings: Settings, records: Optional[WeChatRecords] = None, api: Optional[WeChatApi] = None):
        missing = [name for name, value in (("KEFU_WECHAT_APP_ID", settings.wechat_app_id),
                                            ("KEFU_WECHAT_APP_SECRET", settings.wechat_app_secret),
                                            ("KEFU_WECHAT_TOKEN", settings.wechat_token)) if not value]
        if missing:
            raise RasaException(f"the WeChat channel needs {', '.join(missing)} (the Official Account's 开发者ID, 开发者密码 "
                                "and 服务器配置 → 令牌; docs/CONFIGURATION.md)")
        self.envelope = Envelope(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
        store = SuggestionStore() if records is None else None  # refuses a schema behind
        self.records = records if records is not None else store.wechat
        self.api = api or WeChatApi(settings.wechat_app_id, settings.wechat_app_secret, settings.wechat_api_url,
                                    settings.wechat_timeout_seconds, shared=self.records)
        self.photos = WeChatPhotos(store, self.api, settings) if store is not None else None
        self.reply_seconds = settings.wechat_reply_seconds
        self.recent = RecentAnswers()
        self._missing_responses: set = set()
        self._turns: set = set()  # running turns and takes (see _keep)

    def get_output_channel(self) -> WeChatPushOutput:
        return WeChatPushOutput(self.api, self.records)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("wechat_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            echo = handshake(self.envelope, request.args)
            if echo is None:
                logger.warning("WeChat URL check refused: the signature does not match KEFU_WECHAT_TOKEN")
                return response.text("signature mismatch", status=403)
            return response.text(echo)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Optional[HTTPResponse]:
            return await self.receive(request, on_new_message)

        return webhook

    async def receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Optional[HTTPResponse]:
        if len(request.body or b"") > MAX_BODY:
            return response.text("too large", status=413)
        try:
            incoming = self.envelope.open(request.body or b"", request.args)
        except BadSignature as error:
            logger.warning("a WeChat push was refused (403): %s", error)
            return response.text("signature mismatch", status=403)
        except Malformed as error:
            logger.warning("a signed WeChat push was not a message WeChat sends (400, nothing recorded): %s", error)
            return response.text("malformed message", status=400)
        except SafeModeOff as error:
            logger.error("%s: set it to the account's EncodingAESKey", error)
            return response.text("safe mode not configured", status=500)
        # WeChat hangs up after 5 s and Sanic then cancels this handler. The message's key may be recorded by
        # then, so taking it and starting its turn run in a task of their own that finishes either way: a
        # message recorded is a message Rasa gets (WeChat's retries find it taken and get its answer).
        turn = Turn()
        work = asyncio.ensure_future(self._take(request.app.ctx.agent, request.args, incoming, turn, on_new_message))
        self._keep(work)
        try:
            status, body = await asyncio.shield(work)
            if status != 200:
                return response.text(body, status=status)
            written = await request.respond(content_type="text/plain" if body == SUCCESS else "application/xml")
            await written.send(body, end_stream=True)
        finally:
            turn.close()  # the passive reply has gone, or never will: the turn's other messages go out now
        return None

    async def _take(self, agent: Any, args: Any, incoming: Incoming, turn: Turn,
                    on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Tuple[int, str]:
        """(status, body): the message taken once and answered, a retry's answer, or 503."""
        try:
            first = await asyncio.to_thread(self.records.first_time, incoming.key)
        except Exception as error:  # the store is down: WeChat tries again within seconds
            logger.warning("a WeChat message could not be recorded, answered 503 (WeChat retries): %s", short_error(error))
            return 503, "store unavailable"
        if not first:
            logger.info("WeChat retried %s for %s: handled once already", incoming.key, incoming.openid)
            return 200, await self.recent.again(incoming.key, self.reply_seconds)
        answer = self.recent.start(incoming.key)
        body = SUCCESS
        try:
            text = await self._answer(agent, incoming, turn, on_new_message)
            body = self.envelope.reply(incoming, text, args) if text else SUCCESS
        finally:
            answer.set_result(body)
        return 200, body

    def _keep(self, task: "asyncio.Future[Any]") -> None:
        self._turns.add(task)  # the event loop keeps only weak references to tasks
        task.add_done_callback(self._turns.discard)

    async def _answer(self, agent: Any, incoming: Incoming, turn: Turn,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Optional[Text]:
        metadata = None
        if incoming.kind == IMAGE and incoming.media_id and self.photos is not None:
            image_id = await asyncio.to_thread(self.photos.keep, incoming.openid, incoming.media_id)
            metadata = {"kefu_image": {"id": image_id}} if image_id else None  # a case is open: the photo joins it
        if incoming.kind == TEXT or metadata:
            # A leading "/" would be Rasa's command syntax (/restart wipes the conversation): the web chat
            # sends a full-width ／ instead, and so does this channel.
            text = PHOTO_TEXT if metadata else ("／" + incoming.text[1:] if incoming.text.startswith("/") else incoming.text)
            message = UserMessage(text, WeChatTurnOutput(turn, self.api), incoming.openid, input_channel=self.name(),
                                  message_id=f"wx-{incoming.msg_id}", metadata=metadata)
            handled = asyncio.create_task(_handle(on_new_message, message))
            self._keep(handled)
            return await turn.passive_reply(handled, self.reply_seconds)
        if incoming.kind in RESPONSES:
            return await self._response(agent, RESPONSES[incoming.kind], incoming.openid)
        return None

    async def _response(self, agent: Any, name: Text, openid: Text) -> Optional[Text]:
        """A text from the domain's responses (bot builders edit them; `channel: wechat` variations work)."""
        if agent is None or agent.domain is None or name not in agent.domain.responses:
            if name not in self._missing_responses:
                self._missing_responses.add(name)
                logger.warning("the domain has no response %s: the WeChat channel answers nothing instead", name)
            return None
        tracker = DialogueStateTracker(openid, agent.domain.slots)
        message = await agent.nlg.generate(name, tracker, self.name())
        return (message or {}).get("text")


async def _handle(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> None:
    try:
        await on_new_message(message)
    except Exception:  # the passive reply has gone (or goes) out anyway; the trace is for the operator
        logger.exception("Rasa failed on a WeChat message from %s", message.sender_id)
