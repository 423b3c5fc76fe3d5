"""The follower woken by Rasa's new events on PostgreSQL (console/workers/event_wake.py): a trigger
on Rasa's own event table, LISTEN on a connection the event loop watches, a wake-up only for this
console's conversations, back after its connection is cut, and polling meanwhile.

Real PostgreSQL (the session's server, fresh databases per test), Rasa's SQL event broker table, the
real EventFollower and its loop on a real suggestion store."""
from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from assist.cases.service import CaseService
from assist.store import SuggestionStore
from console.monitoring.pulse import WorkerPulse
from console.workers.event_wake import EventWake
from console.workers.follower import EventFollower
from console.workers.loops import follower_worker
from console.workers.shares import Membership

pytestmark = pytest.mark.slow
INSERT = sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)")


def database(server_url: str, part: str) -> str:
    name = f"{part}_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", f"{server_url}/postgres", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return f"{server_url}/{name}"


def create_rasa_table(events_url: str) -> None:
    """Rasa's SQL event broker creates its table the way Rasa does."""
    from rasa.core.brokers.sql import SQLEventBroker

    url = sa.engine.make_url(events_url)
    SQLEventBroker(dialect="postgresql", host=url.host, port=url.port, db=url.database, username=url.username).engine.dispose()


def write(events_url: str, sender: str, event: dict) -> None:
    engine = sa.create_engine(events_url)
    with engine.begin() as db:
        db.execute(INSERT, {"s": sender, "d": json.dumps(event, ensure_ascii=False)})
    engine.dispose()


async def until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


def listener_pids(events_url: str):
    engine = sa.create_engine(events_url)
    with engine.connect() as db:
        pids = db.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN kefu_events%'")).scalars().all()
    engine.dispose()
    return pids


def test_woken_for_its_own_conversations_once_rasa_has_its_table_and_again_after_the_connection_is_cut(postgres):
    events_url = database(postgres["url"], "events")

    async def scenario():
        wake, heard = asyncio.Event(), []
        listener = EventWake(events_url, wake, wanted=lambda c: heard.append(c) or c.startswith("mine"), retry_seconds=0.2)
        twin = EventWake(events_url, asyncio.Event(), retry_seconds=0.2)  # a second console installs nothing twice
        listener.start()
        twin.start()
        try:
            await asyncio.sleep(0.5)
            assert not listener.listening  # no events table yet: the follower polls meanwhile
            create_rasa_table(events_url)
            assert await until(lambda: listener.listening and twin.listening)
            wake.clear()

            write(events_url, "theirs-1", {"event": "user", "text": "在吗"})
            assert await until(lambda: "theirs-1" in heard)
            assert not wake.is_set()  # another console's conversation
            write(events_url, "mine-1", {"event": "user", "text": "在吗"})
            assert await until(wake.is_set)

            # The connection cut (a PostgreSQL restart, a proxy): back, and one wake-up for what was missed.
            wake.clear()
            engine = sa.create_engine(events_url)
            with engine.connect() as db:
                for pid in listener_pids(events_url):
                    db.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                triggers = db.execute(sa.text("SELECT count(*) FROM pg_trigger WHERE tgname = 'kefu_events_notify'")).scalar()
            engine.dispose()
            assert triggers == 1
            assert await until(lambda: listener.listening and wake.is_set())
            wake.clear()
            write(events_url, "mine-2", {"event": "user", "text": "还在吗"})
            assert await until(wake.is_set)
        finally:
            await listener.stop()
            await twin.stop()
        assert listener.connection is None and not listener.listening

    asyncio.run(scenario())


def test_the_follower_reads_when_woken_and_otherwise_seldom(postgres):
    events_url, store_url = database(postgres["url"], "events"), database(postgres["url"], "suggestions")
    store = SuggestionStore.migrated(store_url)
    follower = EventFollower(CaseService(store, find_order=lambda _: None, acceptance=lambda: None), events_url,
                             membership=Membership(store.follower, holder="console-under-test"), settle_seconds=0)
    assert follower.poll() == 0  # before Rasa's first event there is no table: nothing to read, no failure
    create_rasa_table(events_url)
    reads = []
    read_after = follower.log.read_after
    follower.log.read_after = lambda *a: reads.append(time.monotonic()) or read_after(*a)
    # A fallback far longer than the test: whatever is read soon after it is written, the wake-up brought.
    settings = SimpleNamespace(poll_seconds=0.05, follower_fallback_seconds=60.0, worker_backoff_max_seconds=1.0)
    app = SimpleNamespace(ctx=SimpleNamespace(settings=settings, follower=follower, pulse=WorkerPulse(), wake_outbox=lambda: None))

    async def scenario():
        wake = EventWake(events_url, asyncio.Event(), follower.wants, retry_seconds=0.2)
        wake.start()
        worker = asyncio.ensure_future(follower_worker(app, wake))
        try:
            assert await until(lambda: wake.listening and reads)
            await asyncio.sleep(0.5)
            idle = len(reads)
            await asyncio.sleep(1.5)
            assert len(reads) - idle <= 2  # idle: no read 20 times a second (one per fallback, and settling)

            for event in ({"event": "user", "text": "东西坏了我要投诉", "message_id": "m1",
                           "parse_data": {"intent": {"name": "complaint", "confidence": 0.95}, "entities": []}},
                          {"event": "action", "name": "action_handoff"}, {"event": "bot", "text": "已为您转接人工客服"},
                          {"event": "pause"}, {"event": "action", "name": "action_listen"}):
                write(events_url, "shopper-1", event)
            assert await until(lambda: store.cases.open_case_for("shopper-1") is not None, timeout=20)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await wake.stop()

    asyncio.run(scenario())
