"""Rasa's Redis lock store, made safe for several Rasa servers: each change of a conversation's
ticket lock is one Redis transaction.

Rasa 3.6.21's RedisLockStore (rasa/core/lock_store.py) changes a lock by reading its JSON, changing
it in Python and writing it back, with nothing in between held: issuing a ticket, finishing one,
dropping expired ones. One Rasa process never interleaves them (the Redis client is synchronous), but
two processes do — and with several Rasa servers two processes touch one conversation all the time:
the customer's turn on the server the proxy routes the conversation to, an agent's reply pushed
through another. Two servers that read the lock before either wrote it both take ticket 1, both
think they hold the lock and run at once; Rasa's SQL tracker store then saves a turn by counting the
events already stored and appending the tracker's events past that count, so the turn saved second
loses as many of its first events as the other turn added — the customer's own message among them.
The scale-out proof saw exactly that: a message the server answered 200 was in no tracker. (Known
upstream: RasaHQ/rasa#9213; the fix there, a ConcurrentRedisLockStore, was reverted from Rasa Open
Source in RasaHQ/rasa#11428.)

Here each read-change-write runs under WATCH/MULTI (redis-py's `transaction`, retried when another
process changed the key in between), so ticket numbers are unique and a finished ticket never
erases a newer one. The key expires with its last ticket, so a server killed mid-turn leaves
nothing behind once its ticket's lifetime is over. A turn waiting for the lock looks again every
WAIT_SECONDS instead of Rasa's 1 s: a customer's message behind an agent's push waits for the push,
not for the next second.

Used for `type: redis` (installed from kefu's Rasa entry point and channels) or named in
endpoints.yml: `lock_store: {type: kefu_rasa.lock_store.AtomicRedisLockStore, url: …, port: …}`.
"""
from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Optional, Text, Tuple, TypeVar

from rasa.core import lock_store as rasa_lock_store
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

logger = logging.getLogger(__name__)

WAIT_SECONDS = 0.05  # between looks at a lock held by someone else (Rasa: 1 s)
T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # named by module path in endpoints.yml: Rasa passes its config
            kwargs = dict(endpoint_config.kwargs, host=endpoint_config.url or "localhost", **kwargs)
        super().__init__(**kwargs)

    def _change(self, conversation_id: Text, change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]]) -> T:
        """Apply `change` to the conversation's lock as one transaction; a lock left without tickets is deleted."""
        key = self.key_prefix + conversation_id

        def step(pipe) -> T:
            raw = pipe.get(key)
            lock, result = change(TicketLock.from_dict(json.loads(raw)) if raw else None)
            pipe.multi()
            if lock is None or not lock.is_someone_waiting():
                pipe.delete(key)
            else:
                last_expiry = max(ticket.expires for ticket in lock.tickets)
                pipe.set(key, lock.dumps(), px=max(1, int((last_expiry - time.time()) * 1000)))
            return result

        return self.red.transaction(step, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as error:  # Rasa's contract: the turn fails with a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text) -> None:
        def drop_expired(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        def finish(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # Rasa deletes the lock in a second step when nobody waits, which can delete a ticket issued in
        # between; here the lock goes with its last ticket, in the same transaction.
        self.finish_serving(conversation_id, ticket_number)

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = WAIT_SECONDS) -> AsyncGenerator[TicketLock, None]:
        async with super().lock(conversation_id, lock_lifetime, min(wait_time_in_seconds, WAIT_SECONDS)) as held:
            yield held


def install() -> None:
    """Make `lock_store: {type: redis}` build the atomic store (idempotent; before Rasa builds its agent)."""
    if rasa_lock_store.RedisLockStore is not AtomicRedisLockStore:
        rasa_lock_store.RedisLockStore = AtomicRedisLockStore
        logger.info("kefu: Rasa's Redis lock store changes each lock in one transaction (kefu_rasa/lock_store.py)")
