"""Rasa channels that keep kefu-assist's delivery promise: every message reaches the customer's
client with an id, a client that gets an id twice shows it once, and nothing is lost while the
client is away. Named in credentials.yml instead of Rasa's own:

    kefu_rasa.channels.RestInput:
    kefu_rasa.channels.SocketIOInput: {user_message_evt: user_uttered, bot_message_evt: bot_uttered, session_persistence: true}
    kefu_rasa.channels.CallbackInput: {url: https://your-client/bot}

What differs from Rasa 3.6.21's socketio and callback channels (rasa/core/channels/):
- Every bot message carries `id` (a pushed message's delivery id `d<n>`, else the bot event's
  time `t<seconds>`), `sender` (agent or bot) and `timestamp`, as one message: Rasa's
  SocketIOOutput sends `{"text"}` only and splits a text on blank lines.
- socket.io: `session_request` joins the room (awaited where python-socketio made it a coroutine,
  RasaHQ/rasa#13027) and, given `kefu_since` (the timestamp of the last bot message the client
  showed), first sends every bot message after it. It reads the tracker under the conversation's
  lock, so a push that went into an empty room while the client reconnected is either in what it
  reads or arrives live afterwards: never lost between the two.
- callback: a pushed message (one with a delivery id) counts as delivered only when the client
  answered 2xx within KEFU_CALLBACK_TIMEOUT_SECONDS; otherwise Rasa answers the push with an error,
  saves nothing, and the console's outbox retries (Rasa's CallbackOutput logs and swallows the error).
  One of a customer's own turn is kept and retried (kefu_rasa/callback_retry.py), never failed.
- Both bound Rasa's wait for the action server to KEFU_ACTION_TIMEOUT_SECONDS (`bound_action_calls`).
- A client's `message_id` (a UUID kept on every retry; REST, callback, socket.io) becomes Rasa's message
  id (`keeping_client_ids`): a retry after a 503 or a broken connection joins the case once, and one in
  the tracker already is answered from its turn (kefu_rasa/repeated_messages.py).
- Bad input is answered (kefu_rasa/customer_input.py), never passed on: REST answers 400 with a code
  (Rasa: 500 for a JSON array, `200 []` for a message that is a number, list, null or object, the
  shared `default` conversation for a missing sender); socket.io emits `kefu_error` to that socket
  (Rasa: silence), and takes a message only for the session the socket joined with
  `session_request` — a UUID — never for another customer's.
- A turn the tracker store failed is refused, never answered from an empty conversation: REST 503,
  socket.io `kefu_error` with `retryable: true`; socket.io answers go out once the turn is saved
  (kefu_rasa/tracker_guard.py).
"""
from __future__ import annotations

import inspect
import logging
import uuid
from functools import cached_property
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels import callback as rasa_callback
from rasa.core.channels import rest as rasa_rest
from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import LockError
from rasa.shared.core.events import BotUttered
from rasa.utils.endpoints import EndpointConfig
from sanic import response

from assist.integrations.rasa import message_id
from assist.settings import get_settings
from kefu_rasa import tracker_guard
from kefu_rasa.callback_retry import CALLBACK_ERRORS, CallbackRetry, describe
from kefu_rasa.customer_input import BadMessage, client_message_id, parse_body, rest_message, session_id, socket_message
from kefu_rasa.socketio_rooms import share_rooms
from kefu_rasa.tracker_guard import HeldEmits, TrackerStoreUnavailable, refusing_while_unavailable

logger = logging.getLogger(__name__)
MAX_CATCH_UP = 100  # bot messages sent to a client that comes back


def bound_action_calls(seconds: float) -> None:
    """Rasa 3.6 waits up to a fixed 300 s for the action server: RemoteAction.run passes the module
    constant DEFAULT_REQUEST_TIMEOUT (rasa/core/actions/action.py) on every call, and neither
    --request-timeout nor endpoints.yml changes it. A hung action server would leave the customer
    silent and the conversation locked for five minutes. With the bound, the call fails after
    `seconds`, Rasa logs it and ends the turn, and the console's event follower, which sees the turn
    unpaused, opens the case and sends the holding message through the outbox (a late answer from
    the action changes nothing: the case service takes each message id once).

    Why here and not a proxy in front of the action server: a proxy that hangs puts the 300 s back,
    and it is one more process to run; this is the one line of Rasa's that decides the wait."""
    from rasa.core.actions import action

    if getattr(action, "DEFAULT_REQUEST_TIMEOUT", None) != seconds:
        action.DEFAULT_REQUEST_TIMEOUT = seconds
        logger.info("kefu: Rasa waits at most %g s for the action server (KEFU_ACTION_TIMEOUT_SECONDS)", seconds)


def outgoing(text: Text, message: Dict[Text, Any]) -> Dict[Text, Any]:
    """What a client receives for one bot message: the text with its id, sender and time."""
    return {
        "text": text, "id": message_id(message), "sender": message.get("kefu_sender") or "bot",
        "timestamp": message.get("timestamp"),
    }


def quick_replies(buttons: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    return [{"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons]


# ---- socket.io ----------------------------------------------------------------------------------
class SocketIOOutput(rasa_socketio.SocketIOOutput):
    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_message(recipient_id, outgoing(text, kwargs))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        await self._send_message(recipient_id, dict(outgoing(text, kwargs), quick_replies=quick_replies(buttons)))


class SocketIOInput(rasa_socketio.SocketIOInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "SocketIOInput":
        bound_action_calls(get_settings().action_timeout_seconds)
        return super().from_credentials(credentials)  # type: ignore[return-value]

    def get_output_channel(self) -> Optional[rasa_socketio.SocketIOOutput]:
        if self.sio is None:
            return super().get_output_channel()  # Rasa's warning: no socket server in this process
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message):
        tracker_guard.install()  # before Rasa builds its agent: a failing tracker store refuses the turn
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        if get_settings().socketio_redis_url:  # rooms shared by every Rasa server (kefu_rasa/socketio_rooms.py)
            share_rooms(sio, blueprint, get_settings().socketio_redis_url)
        max_chars = get_settings().max_message_chars
        joined: Dict[Text, Text] = {}  # socket → the session it joined: the only one it may write to

        async def refuse(sid: Text, bad: BadMessage) -> None:
            logger.info("socket.io: refused a message from %s: %s", sid, bad.code)  # never the customer's words
            await sio.emit("kefu_error", bad.answer()["error"], room=sid, namespace=self.namespace)

        # Registering an event again replaces Rasa's handler for it (python-socketio keeps one per event).
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            try:
                session = session_id(data) or str(uuid.uuid4())
            except BadMessage as bad:
                return await refuse(sid, bad)
            if self.session_persistence:
                joined[sid] = session
                entered = sio.enter_room(sid, session, namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
                since = data.get("kefu_since") if isinstance(data, dict) else None
                if isinstance(since, (int, float)) and not isinstance(since, bool):
                    try:
                        await self._catch_up(sid, session, float(since))
                    except TrackerStoreUnavailable:
                        pass  # logged by the store; the socket still joins, the next reconnect catches up
            await sio.emit("session_confirm", session, room=sid)

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: Text) -> None:
            joined.pop(sid, None)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any) -> None:
            # Rasa's handler, with our output channel (Rasa builds its own SocketIOOutput here) and
            # every message checked first.
            session = joined.get(sid) if self.session_persistence else sid
            if not self.session_persistence and isinstance(data, dict):
                data = dict(data, session_id=sid)
            try:
                text, metadata = socket_message(data, session, max_chars, self.metadata_key)
                client_id = client_message_id(data)  # the same id on a retry: the case takes it once
            except BadMessage as bad:
                return await refuse(sid, bad)
            held = HeldEmits(sio)  # the turn's answers go out once it is saved (kefu_rasa/tracker_guard.py)
            try:
                await on_new_message(UserMessage(text, SocketIOOutput(held, self.bot_message_evt), session,
                                                 input_channel=self.name(), metadata=metadata, message_id=client_id))
            except TrackerStoreUnavailable as down:
                logger.warning("socket.io: refused a message for %s: the tracker store is unavailable", session)
                return await sio.emit("kefu_error", down.answer(client_id)["error"], room=sid, namespace=self.namespace)
            await held.release()

        return blueprint

    async def _catch_up(self, sid: Text, session_id: Text, since: float) -> None:
        """Send this client the bot messages after `since`, read under the conversation's lock."""
        agent = _agent(self.sio, sid)
        if agent is None or agent.tracker_store is None:
            return
        try:
            async with agent.lock_store.lock(session_id, wait_time_in_seconds=0.05):
                tracker = await agent.tracker_store.retrieve_full_tracker(session_id)
                await self._send_missed(sid, tracker, since)
        except LockError:
            logger.warning("catch-up for %s read without the conversation lock (it expired)", session_id)
            await self._send_missed(sid, await agent.tracker_store.retrieve_full_tracker(session_id), since)

    async def _send_missed(self, sid: Text, tracker, since: float) -> None:
        if tracker is None:
            return
        missed = [e for e in tracker.events if isinstance(e, BotUttered) and (e.timestamp or 0) > since][-MAX_CATCH_UP:]
        output = SocketIOOutput(self.sio, self.bot_message_evt)
        for event in missed:
            await output.send_response(sid, event.message())


def _agent(sio, sid: Text):
    """Rasa's agent (tracker and lock stores), from the web request the socket came in on."""
    try:
        return sio.get_environ(sid)["sanic.request"].app.ctx.agent
    except (KeyError, AttributeError, TypeError):
        logger.warning("no Rasa agent reachable from socket %s: no catch-up", sid)
        return None


# ---- REST ---------------------------------------------------------------------------------------
def refusing_bad_input(blueprint, channel: Text):
    """`blueprint` (a REST-like channel's) with its webhook answering bad input with a 400."""
    max_chars = get_settings().max_message_chars

    @blueprint.middleware("request")
    async def refuse_bad_input(request):
        if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook"):
            return None
        try:
            data = parse_body(request.body)
            rest_message(data, max_chars)
            client_message_id(data)
        except BadMessage as bad:
            logger.info("%s: refused a message: %s", channel, bad.code)  # never the customer's words
            return response.json(bad.answer(), status=400)
        return None

    return blueprint


def keeping_client_ids(on_new_message):
    """A REST client's `message_id` (a UUID it makes once per message and sends again with a retry,
    after a 503 or a broken connection) becomes Rasa's message id: the case takes the message once."""
    async def turn(message: UserMessage) -> None:
        request = tracker_guard.current_request()
        given = client_message_id(parse_body(request.body)) if request is not None else None
        if given:
            message.message_id = given
        await on_new_message(message)

    return turn


class RestInput(rasa_rest.RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`, same name) that answers bad input with a 400
    and a turn the tracker store failed with a 503 (kefu_rasa/tracker_guard.py)."""

    def blueprint(self, on_new_message):
        return refusing_bad_input(refusing_while_unavailable(super().blueprint, keeping_client_ids(on_new_message)),
                                  self.name())


# ---- callback -----------------------------------------------------------------------------------
class CallbackNotAcknowledged(RuntimeError):
    """The callback client did not take a pushed message; Rasa answers the push with an error."""


class CallbackOutput(rasa_callback.CallbackOutput):
    def __init__(self, endpoint: EndpointConfig, timeout: float, retry: Optional[CallbackRetry] = None) -> None:
        super().__init__(endpoint)
        self.retry = retry or CallbackRetry(endpoint, timeout)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        message = dict(self._message(recipient_id, text=text), **outgoing(text, kwargs))
        await self._post(message, pushed=bool(kwargs.get("kefu_delivery")))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        message = dict(self._message(recipient_id, text=text, buttons=buttons), **outgoing(text, kwargs))
        await self._post(message, pushed=bool(kwargs.get("kefu_delivery")))

    async def _persist_message(self, message: Dict[Text, Any]) -> None:
        await self._post(message, pushed=False)  # images, attachments …: Rasa's way, with our timeout

    async def _post(self, message: Dict[Text, Any], pushed: bool) -> None:
        self.messages.append(message)
        try:
            await self.retry.post(message)
        except CALLBACK_ERRORS as error:
            if pushed:
                raise CallbackNotAcknowledged(f"the callback client did not take message {message['id']}: {describe(error)}") from error
            logger.error("the callback client did not take a message for %s: %s; trying again", message.get("recipient_id"), describe(error))
            await self.retry.not_taken(message, error)  # kept in the store and retried (kefu_rasa/callback_retry.py)


class CallbackInput(rasa_callback.CallbackInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "CallbackInput":
        bound_action_calls(get_settings().action_timeout_seconds)
        return super().from_credentials(credentials)  # type: ignore[return-value]

    def get_output_channel(self) -> CallbackOutput:
        return CallbackOutput(self.callback_endpoint, get_settings().callback_timeout_seconds, self.retry)

    @cached_property
    def retry(self) -> CallbackRetry:
        return CallbackRetry.configured(self.callback_endpoint)

    def blueprint(self, on_new_message):
        blueprint = refusing_bad_input(refusing_while_unavailable(super().blueprint, keeping_client_ids(on_new_message)),
                                       self.name())
        # Every Rasa server sweeps the messages a killed one left (kefu_rasa/callback_retry.py).
        blueprint.listener("after_server_start")(lambda app, _loop: app.add_task(self.retry.sweep_forever()))
        return blueprint
