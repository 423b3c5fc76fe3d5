"""No turn without its conversation: while Rasa's tracker store cannot be read or written, kefu's
channels refuse the customer's message with a retryable error instead of answering it.

Rasa 3.6.21 wraps every tracker store in FailSafeTrackerStore (rasa/core/agent.py,
`Agent._create_tracker_store`): a read that fails returns None, so the processor starts a fresh,
un-paused conversation and the bot answers a customer whose case is open with an agent; a save that
fails goes to an in-memory store, and the message is lost. Both only log an ERROR.

The mechanism, in two halves:
- `install()` makes Agent wrap its store in `FailClosedTrackerStore` instead (the name Agent looks up
  is rebound, before the agent is built: from kefu's Rasa entry point and from kefu's channels, which
  Rasa builds first). Every failure of the primary store, on read or save, raises
  `TrackerStoreUnavailable`; the turn ends there, under Rasa's conversation lock, with nothing saved
  (the SQL store writes a turn in one transaction, and its event broker publishes after a read of the
  same store). A database down before the turn fails its first read; one that fails during the turn
  fails the save. Rasa's HTTP API fails the same way (an agent's push answers 500 and the console's
  outbox retries it) instead of storing the push in a fresh tracker.
- The channels map that error to a refusal the client retries: REST answers 503 with
  `conversation_store_unavailable` and Retry-After (`refusing_while_unavailable`: Rasa's REST handler
  swallows every exception and answers 200 with what was collected, so the turn's wrapper notes the
  failure on the request and a response middleware replaces the answer); socket.io emits `kefu_error`
  with that code, `retryable: true` and the client's message id. On socket.io the turn's answers are
  held (`HeldEmits`) and sent once the turn is saved, so a turn whose save failed has said nothing
  and its retry answers once.
"""
from __future__ import annotations

import contextvars
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core import agent as rasa_agent
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import QueueOutputChannel
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import response

from kefu_rasa import lock_store, repeated_messages, schema_check

logger = logging.getLogger(__name__)

CODE = "conversation_store_unavailable"
RETRY_AFTER_SECONDS = 2


class TrackerStoreUnavailable(RuntimeError):
    """The conversation's tracker could not be read or saved: the turn did not happen."""

    def answer(self, message_id: Optional[Text] = None) -> Dict[Text, Any]:
        error = {"code": CODE, "retryable": True, "retry_after": RETRY_AFTER_SECONDS,
                 "message": "会话记录暂时无法读取，消息没有处理，请稍后重发 (the conversation store is unavailable: "
                            "nothing was answered or recorded; send the same message again after retry_after seconds)"}
        if message_id:
            error["message_id"] = message_id
        return {"error": error}


class FailClosedTrackerStore(FailSafeTrackerStore):
    """FailSafeTrackerStore without the fallback: a failure of the store fails the caller."""

    def _failed(self, doing: Text, error: Exception) -> TrackerStoreUnavailable:
        logger.error("kefu: the tracker store (%s) failed to %s; the turn is refused, not answered from an empty "
                     "conversation: %s", type(self._tracker_store).__name__, doing, error)
        return TrackerStoreUnavailable(f"the tracker store failed to {doing}: {error}")

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await self._tracker_store.retrieve(sender_id)
        except Exception as error:
            raise self._failed("read a conversation", error) from error

    async def retrieve_full_tracker(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await self._tracker_store.retrieve_full_tracker(sender_id)
        except Exception as error:
            raise self._failed("read a conversation", error) from error

    async def save(self, tracker: DialogueStateTracker) -> None:
        try:
            await self._tracker_store.save(tracker)
        except Exception as error:
            raise self._failed("save a conversation", error) from error

    async def keys(self):
        try:
            return await self._tracker_store.keys()
        except Exception as error:
            raise self._failed("list conversations", error) from error


def install() -> None:
    """Make every Agent built from now on wrap its tracker store fail-closed (idempotent), and take
    its Redis locks atomically: two turns of one conversation saved at once lose events too
    (kefu_rasa/lock_store.py)."""
    lock_store.install()
    repeated_messages.install()  # a client's retry of a message mid-turn is not a second turn
    schema_check.install()  # Rasa's JSON schemas checked once, not every turn (kefu_rasa/schema_check.py)
    if rasa_agent.FailSafeTrackerStore is not FailClosedTrackerStore:
        rasa_agent.FailSafeTrackerStore = FailClosedTrackerStore
        logger.info("kefu: a failing tracker store refuses the turn (kefu_rasa/tracker_guard.py)")


# ---- REST ---------------------------------------------------------------------------------------
_request: contextvars.ContextVar = contextvars.ContextVar("kefu_rest_request", default=None)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def current_request() -> Any:
    """The REST request whose turn this is (set by the blueprint's request middleware), or None."""
    return _request.get()


def refusing_while_unavailable(make_blueprint: Callable[[OnNewMessage], Any], on_new_message: OnNewMessage):
    """A REST-like channel's blueprint (`make_blueprint(handler)`) whose webhook answers 503
    `conversation_store_unavailable` with Retry-After when the turn failed on the tracker store.
    Installs the fail-closed store too: the channel's promise rests on it."""
    install()

    async def turn(message: UserMessage) -> None:
        try:
            await on_new_message(message)
        except TrackerStoreUnavailable as down:
            request = _request.get()
            if request is not None:
                request.ctx.kefu_unavailable = down
            if isinstance(message.output_channel, QueueOutputChannel):  # ?stream=true: already answering 200
                await message.output_channel.messages.put(down.answer())

    blueprint = make_blueprint(turn)

    @blueprint.middleware("request")
    async def remember_request(request):
        _request.set(request)  # Sanic runs middleware and handler in one task: the turn finds it

    @blueprint.middleware("response")
    async def refuse_unavailable(request, _response):
        down = getattr(request.ctx, "kefu_unavailable", None)
        if down is None:
            return None
        return response.json(down.answer(), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    return blueprint


# ---- socket.io ----------------------------------------------------------------------------------
class HeldEmits:
    """A socket.io server whose `emit` waits: a turn's answers are sent by `release()` once the turn
    is saved, and dropped with a turn that failed (its retry answers again)."""

    def __init__(self, sio: Any) -> None:
        self.sio = sio
        self.held: List[Tuple[tuple, dict]] = []

    async def emit(self, *args: Any, **kwargs: Any) -> None:
        self.held.append((args, kwargs))

    async def release(self) -> None:
        held, self.held = self.held, []
        for args, kwargs in held:
            await self.sio.emit(*args, **kwargs)
