"""Two Rasa servers writing one PostgreSQL event table (issue 20, trap 4): an id is taken at insert
and becomes visible at commit, so a smaller id can appear after a larger one was read. The console's
follower (console/workers/follower.py) must handle it anyway — once — and still step over the gap
of an insert that was rolled back.

Real PostgreSQL (the session's server, a fresh pair of databases per test), Rasa's own SQL event
broker table, the real EventFollower and CaseService on a real suggestion store. The writers are
SQLAlchemy transactions held open the way a Rasa server's publish is between insert and commit."""
from __future__ import annotations

import json
import random
import subprocess
import threading
import time
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from assist.cases.service import CaseService
from assist.store import SuggestionStore
from console.workers.follower import EventFollower
from console.workers.shares import Membership
from kefu_rasa.dev.servers import wait_until

pytestmark = pytest.mark.slow

INSERT = sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d) RETURNING id")


def user_event(text: str, message_id: str, intent: str = "ask_progress") -> str:
    return json.dumps({"event": "user", "text": text, "message_id": message_id, "input_channel": "socketio",
                       "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "entities": [],
                                      "intent_ranking": [{"name": intent, "confidence": 0.9}]}}, ensure_ascii=False)


class World:
    """Rasa's event table and a suggestion store, each in a fresh PostgreSQL database."""

    def __init__(self, server_url: str):
        names = {part: f"{part}_{uuid.uuid4().hex[:8]}" for part in ("events", "suggestions")}
        for name in names.values():
            subprocess.run(["psql", f"{server_url}/postgres", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
        from rasa.core.brokers.sql import SQLEventBroker

        host_port = server_url.rsplit("@", 1)[1]
        broker = SQLEventBroker(dialect="postgresql", host=host_port.split(":")[0], port=int(host_port.split(":")[1]),
                                db=names["events"], username="kefu")  # creates Rasa's table, as Rasa does
        broker.engine.dispose()
        self.events_url = f"{server_url}/{names['events']}"
        self.engine = sa.create_engine(self.events_url, pool_size=20)
        self.store = SuggestionStore.migrated(f"{server_url}/{names['suggestions']}")
        self.handled = Counter()  # message id → times the follower handled it

    def follower(self, **options) -> EventFollower:
        service = CaseService(self.store, find_order=lambda _: None, acceptance=lambda: None)
        options.setdefault("membership", Membership(self.store.follower, holder="console-under-test"))
        return EventFollower(service, self.events_url, settle_seconds=0, retry_seconds=0,
                             observe=lambda event, _: self.handled.update([event.get("message_id")]), **options)

    def commit(self, sender: str, data: str) -> int:
        with self.engine.begin() as db:
            return db.execute(INSERT, {"s": sender, "d": data}).scalar()

    def open_case(self, follower: EventFollower, sender: str) -> str:
        """A complaint the bot handed over (the case is open, the bot paused): later messages join it."""
        self.commit(sender, user_event("我要投诉，东西是坏的", f"open-{sender}", "complaint"))
        for event in ({"event": "action", "name": "action_handoff"}, {"event": "bot", "text": "已为您转接人工客服"},
                      {"event": "pause"}):
            self.commit(sender, json.dumps(event))
        follower.poll()
        case = self.store.cases.open_case_for(sender)
        assert case is not None
        return case["id"]

    def customer_texts(self, case_id: str):
        return [m["text"] for m in self.store.cases.get_case(case_id)["messages"] if m["sender"] == "customer"][1:]


@pytest.fixture
def world(postgres):
    world = World(postgres["url"])
    yield world
    world.engine.dispose()


def test_an_event_committed_after_a_larger_id_was_read_is_handled(world):
    follower = world.follower()
    first, second = world.open_case(follower, "c1"), world.open_case(follower, "c2")
    start = world.store.follower.lowest("console")
    a, b = world.engine.connect(), world.engine.connect()
    try:
        slow = a.begin()
        a_id = a.execute(INSERT, {"s": "c1", "d": user_event("A：还在等吗", "a1")}).scalar()  # the smaller id, open
        with b.begin():
            b_id = b.execute(INSERT, {"s": "c2", "d": user_event("B：我先问一下", "b1")}).scalar()
        assert a_id < b_id
        follower.poll()
        assert world.customer_texts(second) == ["B：我先问一下"] and world.customer_texts(first) == []
        assert world.store.follower.lowest("console") == start  # held before the gap, not past it
        slow.commit()
    finally:
        a.close()
        b.close()
    follower.poll()
    assert world.customer_texts(first) == ["A：还在等吗"] and world.customer_texts(second) == ["B：我先问一下"]
    assert world.handled["a1"] == world.handled["b1"] == 1
    assert world.store.follower.lowest("console") == b_id


def test_the_gap_of_a_rolled_back_insert_is_stepped_over_after_the_grace(world):
    follower = world.follower(gap_seconds=1.0)
    case = world.open_case(follower, "c1")
    start = world.store.follower.lowest("console")
    with world.engine.connect() as db:
        rolled = db.begin()
        db.execute(INSERT, {"s": "c1", "d": user_event("这条没写成", "lost")})
        rolled.rollback()
    kept = world.commit("c1", user_event("这条写成了", "kept"))
    follower.poll()
    assert world.customer_texts(case) == ["这条写成了"] and world.store.follower.lowest("console") == start
    assert wait_until(lambda: follower.poll() is not None and world.store.follower.lowest("console") == kept, timeout=20)
    assert world.handled["kept"] == 1 and "lost" not in world.handled


def test_many_concurrent_writers_every_event_handled_exactly_once(world):
    # The grace must outlast the longest insert-to-commit here: writer threads on a loaded machine.
    follower = world.follower(gap_seconds=10.0)
    conversations = [f"w{n}" for n in range(8)]
    cases = {sender: world.open_case(follower, sender) for sender in conversations}
    committed = {sender: [] for sender in conversations}
    writing = threading.Event()
    writing.set()

    def writer(sender: str, seed: int) -> None:
        rng = random.Random(seed)
        for n in range(30):
            text = f"{sender} 第{n}条"
            with world.engine.connect() as db:
                transaction = db.begin()
                db.execute(INSERT, {"s": sender, "d": user_event(text, f"{sender}-{n}")})
                time.sleep(rng.uniform(0, 0.02))  # between insert and commit, another writer's id overtakes
                if rng.random() < 0.1:
                    transaction.rollback()  # a publish that failed: its id is never used
                    continue
                transaction.commit()
            committed[sender].append(text)

    failures = []

    def follow() -> None:
        while writing.is_set():
            try:
                follower.poll()
            except Exception as error:  # the console's loop backs off and polls again; here, it is reported
                failures.append(repr(error))
            time.sleep(0.005)

    reader = threading.Thread(target=follow)
    reader.start()
    writers = [threading.Thread(target=writer, args=(sender, n)) for n, sender in enumerate(conversations)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    last = world.commit("w0", json.dumps({"event": "action", "name": "action_listen"}))
    try:
        assert wait_until(lambda: world.store.follower.lowest("console") == last, timeout=60), (
            world.store.follower.lowest("console"), last, failures[:3])
    finally:
        writing.clear()
        reader.join()
    assert failures == [] and world.store.dead_letters.open_count() == 0
    for sender in conversations:
        assert world.customer_texts(cases[sender]) == committed[sender]  # all, once, in the order written
    follow_ups = Counter({key: n for key, n in world.handled.items() if not key.startswith("open-")})
    assert set(follow_ups.values()) == {1}
    assert sum(follow_ups.values()) == sum(len(texts) for texts in committed.values())
