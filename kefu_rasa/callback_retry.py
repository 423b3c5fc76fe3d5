"""A bot message the callback client did not take is tried again in the background.

Rasa's callback channel posts each message of a turn to the client's URL once and only logs a
failure, so a client that was slow for a moment (a busy shop backend) never hears the bot's answer
— a holding message included: the customer is left silent. The turn does not wait: the post is
retried in the background with backoff, about a minute in all. Each message carries its id, so a
client that did take an earlier try (its answer was lost) drops the repeat. An agent's pushed text
is not retried here: its push fails and the console's outbox retries it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Set, Tuple

import aiohttp
from rasa.utils.endpoints import ClientResponseError

logger = logging.getLogger(__name__)

CALLBACK_ERRORS = (ClientResponseError, aiohttp.ClientError, asyncio.TimeoutError)
RETRY_DELAYS: Tuple[float, ...] = (1, 2, 4, 8, 15, 30)
_running: Set["asyncio.Future"] = set()  # a task nobody holds may be collected before it runs


def retry_in_background(post: Callable[[], Awaitable[None]], recipient: str) -> "asyncio.Future":
    """Post again after each of RETRY_DELAYS until the client takes the message."""
    delays = RETRY_DELAYS

    async def again() -> bool:
        for tries, delay in enumerate(delays, start=2):
            await asyncio.sleep(delay)
            try:
                await post()
            except CALLBACK_ERRORS:
                continue
            logger.info("the callback client took the message for %s at try %d", recipient, tries)
            return True
        logger.error("the callback client never took a message for %s (%d tries): given up", recipient, len(delays) + 1)
        return False

    task = asyncio.ensure_future(again())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task
