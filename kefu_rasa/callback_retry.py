"""A bot message the callback client did not take is tried again until it does, even if this Rasa
server dies meanwhile.

Rasa's callback channel posts each message of a turn to the client's URL once and only logs a
failure, so a client that was slow for a moment (a busy shop backend) never hears the bot's answer
— a holding message included: the customer is left silent. The turn does not wait:
- the message is kept in kefu's store (assist/store/callback_posts.py) and retried in the background
  with backoff, about a minute in all; the row is deleted once the client takes it;
- a row still there after that — this server was killed mid-retry, or the client stayed away — is
  posted again by the sweep every Rasa server with the callback channel runs, one server at a time.
Each message carries its id, so a client that did take an earlier try (its answer was lost) drops
the repeat. When the store cannot keep it (down), the retry in memory still runs. An agent's pushed
text is not retried here: its push fails and the console's outbox retries it.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Tuple

import aiohttp
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

logger = logging.getLogger(__name__)

CALLBACK_ERRORS = (ClientResponseError, aiohttp.ClientError, asyncio.TimeoutError)
RETRY_DELAYS: Tuple[float, ...] = (1, 2, 4, 8, 15, 30)
SWEEP_AFTER = timedelta(seconds=75)   # KEFU_CALLBACK_SWEEP_AFTER_SECONDS: the retries in memory end before it
SWEEP_SECONDS = 10.0                  # how often each Rasa server looks for such rows (at most)
SWEEP_AGAIN = timedelta(seconds=30)   # a swept message the client did not take either
_running: Set["asyncio.Future"] = set()  # a task nobody holds may be collected before it runs


def describe(error: BaseException) -> str:
    return f"{error.status} {error.text!r}" if isinstance(error, ClientResponseError) else repr(error)


def delays_within(window: timedelta) -> Tuple[float, ...]:
    """The first RETRY_DELAYS that end before `window` has passed (the sweep's turn after it)."""
    kept: Tuple[float, ...] = ()
    for delay in RETRY_DELAYS:
        if sum(kept) + delay >= window.total_seconds():
            break
        kept += (delay,)
    return kept


def retry_in_background(post: Callable[[], Awaitable[None]], recipient: str,
                        on_taken: Optional[Callable[[], Any]] = None,
                        delays: Optional[Tuple[float, ...]] = None, stop_after: Optional[float] = None) -> "asyncio.Future":
    """Post again after each of `delays` (RETRY_DELAYS) until the client takes the message, then `on_taken()`.
    No post starts later than `stop_after` seconds from now: the sweep's turn (a slow client makes each
    post last up to the timeout, and a loaded server sleeps long)."""
    delays = RETRY_DELAYS if delays is None else delays
    loop = asyncio.get_running_loop()
    deadline = loop.time() + stop_after if stop_after is not None else None

    async def again() -> bool:
        for tries, delay in enumerate(delays, start=2):
            await asyncio.sleep(delay)
            if deadline is not None and loop.time() >= deadline:
                logger.warning("the callback client has not taken a message for %s after %d tries: left to the sweep",
                               recipient, tries - 1)
                return False
            try:
                await post()
            except CALLBACK_ERRORS:
                continue
            logger.info("the callback client took the message for %s at try %d", recipient, tries)
            if on_taken is not None:
                await _quietly(on_taken, f"forgetting the message for {recipient}")
            return True
        logger.error("the callback client never took a message for %s (%d tries): left to the sweep if the store "
                     "kept it", recipient, len(delays) + 1)
        return False

    task = asyncio.ensure_future(again())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


async def _quietly(work: Callable[[], Any], what: str) -> Any:
    """Run a store call in a thread; a store that is down is logged, never raised into a turn."""
    try:
        return await asyncio.to_thread(work)
    except Exception as error:  # the store is down or locked: the sweep or the retry in memory goes on
        from assist.store import short_error

        logger.warning("callback retry: %s failed: %s", what, short_error(error))
        return None


class CallbackRetry:
    """This Rasa server's retries of callback posts: in memory after a failed post, and the sweep."""

    def __init__(self, endpoint: EndpointConfig, timeout: float, posts: Optional[Callable[[], Any]] = None,
                 sweep_after: timedelta = SWEEP_AFTER) -> None:
        self.endpoint, self.timeout, self.sweep_after = endpoint, timeout, sweep_after
        self._make_posts = posts or _store_posts
        self._posts: Any = None

    @classmethod
    def configured(cls, endpoint: EndpointConfig) -> "CallbackRetry":
        """With KEFU_CALLBACK_TIMEOUT_SECONDS and KEFU_CALLBACK_SWEEP_AFTER_SECONDS."""
        from assist.settings import get_settings

        settings = get_settings()
        return cls(endpoint, settings.callback_timeout_seconds, sweep_after=timedelta(seconds=settings.callback_sweep_after_seconds))

    def posts(self) -> Any:
        """The store's CallbackPosts, opened on first use (the store may be down at start-up)."""
        if self._posts is None:
            self._posts = self._make_posts()
        return self._posts

    async def post(self, message: Dict[str, Any]) -> None:
        await self.endpoint.request("post", content_type="application/json", json=message,
                                    timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def not_taken(self, message: Dict[str, Any], error: BaseException) -> "asyncio.Future":
        """Keep `message` in the store and retry it in the background (the turn goes on)."""
        from assist.store.db import now

        recipient = str(message.get("recipient_id"))
        kept = await _quietly(lambda: self.posts().keep(recipient, message, now() + self.sweep_after, describe(error)),
                              f"keeping the message for {recipient}")
        taken = (lambda: self.posts().taken(kept)) if kept is not None else None
        # The last post in memory ends before the row is due (the store's clock is to the second: 2 s spare).
        stop_after = self.sweep_after.total_seconds() - self.timeout - 2 if kept is not None else None
        return retry_in_background(lambda: self.post(message), recipient, taken, delays_within(self.sweep_after), stop_after)

    async def sweep(self) -> int:
        """Post every kept message that is due (one server takes each attempt); how many the client took."""
        due = await _quietly(lambda: self.posts().due(), "reading the kept messages")
        took, lease = 0, timedelta(seconds=self.timeout + 5)  # the longest a post can take, and some
        for row in due or []:
            if not await _quietly(lambda: self.posts().start_attempt(row, lease), "taking a kept message"):
                continue  # another Rasa server has this attempt, or the store is down
            try:
                await self.post(row["message"])
            except CALLBACK_ERRORS as error:
                reason = describe(error)
                alive = await _quietly(lambda: self.posts().not_taken(row, SWEEP_AGAIN, reason),
                                       "rescheduling a kept message")
                if alive is False:
                    logger.error("the callback client never took message %s for %s: given up",
                                 row["message"].get("id"), row["conversation_id"])
                continue
            took += 1
            logger.info("the callback client took kept message %s for %s at try %d", row["message"].get("id"),
                        row["conversation_id"], row["attempts"] + 1)
            await _quietly(lambda: self.posts().taken(row["id"]), "forgetting a kept message")
        return took

    async def sweep_forever(self) -> None:
        every = min(SWEEP_SECONDS, self.sweep_after.total_seconds() / 3)
        while True:
            try:
                await self.sweep()
            except Exception:  # never let the sweep die: the next round tries again
                logger.exception("callback retry: a sweep failed")
            await asyncio.sleep(every)


def _store_posts() -> Any:
    from assist.store import SuggestionStore

    return SuggestionStore().callback_posts
