"""The Redis lock store under several Rasa servers (kefu_rasa/lock_store.py): processes that take one
conversation's lock at once, on a real redis-server, never hold it together.

Each process stands for a Rasa server: its own store and connection, taking the lock in a loop the
way a turn does (`async with store.lock(conversation)`), and inside it doing what a turn's save does
with the tracker: read a count, work a little, write the count plus one. Held by one at a time, the
count ends at the number of turns; two holders at once lose an update — as Rasa's SQL tracker store
loses the events of one of two turns saved at once.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import time

import pytest

from kefu_rasa.lock_store import AtomicRedisLockStore, install

pytestmark = pytest.mark.slow

SERVERS, TURNS = 4, 40


def _turns(port: int, conversation: str, turns: int, errors) -> None:
    import redis

    store = AtomicRedisLockStore(host="127.0.0.1", port=port, db=0)
    counter = redis.StrictRedis(host="127.0.0.1", port=port, db=0)

    async def run() -> None:
        for _ in range(turns):
            async with store.lock(conversation):
                seen = int(counter.get(f"count:{conversation}") or 0)
                await asyncio.sleep(0.002)  # the turn's work: a neighbour holding the lock too would write in here
                counter.set(f"count:{conversation}", seen + 1)

    try:
        asyncio.run(run())
    except Exception as error:  # a LockError would be a turn the customer has to send again
        errors.put(repr(error))


def test_servers_taking_one_conversations_lock_hold_it_one_at_a_time(redis):
    import redis as redis_client

    conversation = f"lock-{time.time_ns()}"
    fork = multiprocessing.get_context("fork")
    errors = fork.Queue()
    servers = [fork.Process(target=_turns, args=(redis, conversation, TURNS, errors)) for _ in range(SERVERS)]
    for server in servers:
        server.start()
    for server in servers:
        server.join(120)
    assert all(server.exitcode == 0 for server in servers)
    assert errors.empty(), errors.get()
    red = redis_client.StrictRedis(host="127.0.0.1", port=redis, db=0)
    assert int(red.get(f"count:{conversation}")) == SERVERS * TURNS  # no turn ran beside another
    assert red.get(f"lock:{conversation}") is None  # the lock went with its last ticket


def test_a_ticket_expires_with_its_server(redis):
    """A server killed mid-turn never finishes its ticket: the next turn waits out the ticket's
    lifetime, not forever, and the key leaves Redis with it."""
    import redis as redis_client

    store = AtomicRedisLockStore(host="127.0.0.1", port=redis, db=0)
    conversation = f"dead-{time.time_ns()}"
    store.issue_ticket(conversation, lock_lifetime=0.5)  # taken, never finished

    async def next_turn() -> float:
        began = time.monotonic()
        async with store.lock(conversation):
            return time.monotonic() - began

    waited = asyncio.run(next_turn())
    assert 0.3 < waited < 5
    red = redis_client.StrictRedis(host="127.0.0.1", port=redis, db=0)
    assert red.get(f"lock:{conversation}") is None


def test_rasa_builds_the_atomic_store_for_type_redis_and_by_module_path(redis):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    install()
    by_type = LockStore.create(EndpointConfig(url="127.0.0.1", type="redis", port=redis, db=0))
    by_path = LockStore.create(EndpointConfig(url="127.0.0.1", type="kefu_rasa.lock_store.AtomicRedisLockStore",
                                              port=redis, db=0))
    assert isinstance(by_type, AtomicRedisLockStore) and isinstance(by_path, AtomicRedisLockStore)
    assert by_path.red.connection_pool.connection_kwargs["port"] == redis
