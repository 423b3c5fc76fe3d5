"""The console's workers without servers: the outbox against a fake Rasa client, the event follower
against an events table written the way Rasa's SQL event broker writes it."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from assist.cases.service import CaseService
from assist.integrations.orders import Order
from assist.integrations.rasa import RasaUnavailable
from assist.store import SuggestionStore
from assist.store.db import now
from console.workers.follower import EventFollower
from console.workers.outbox import backoff, deliver_due

SITUATION = {"intent": "complaint", "concerns": ["complaint"], "mood": "angry", "urgency": 5}
DRAFTS = [{"text": "非常抱歉给您添麻烦了，我马上为您核实，您看可以吗？", "score": 1, "reason": "", "variant_id": "complaint.a"}]


class FakeRasa:
    """Rasa's HTTP API at the far edge: records pushes; can be down, or lose an answer."""

    def __init__(self):
        self.pushed = []      # (conversation, text, key, pause, resume)
        self.down = False
        self.lose_answer = False

    def deliver(self, conversation_id, channel, text, key, resume=False, pause=False, sender="agent"):
        if self.down:
            raise RasaUnavailable("Rasa at http://127.0.0.1:5005 unreachable: connection refused")
        self.pushed.append((conversation_id, text, key, pause, resume))
        if self.lose_answer:
            raise RasaUnavailable("read timed out")  # Rasa stored it, the answer never came

    def was_delivered(self, conversation_id, key):
        if self.down:
            raise RasaUnavailable("down")
        return any(p[2] == key for p in self.pushed)


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


def approved(store, conversation="c1"):
    case = store.cases.open_case(conversation, SITUATION, DRAFTS, "东西坏了")
    draft_id = store.cases.get_case(case["id"])["drafts"][0]["id"]
    store.decisions.decide(case["id"], "xiaowang", "approve", draft_id=draft_id, resolve=True)
    return case["id"]


def test_an_approved_text_is_delivered_once_with_the_bot_resumed(store):
    rasa = FakeRasa()
    approved(store)
    assert deliver_due(store, rasa) == {"delivered": 1, "retry": 0}
    assert [(p[1], p[4]) for p in rasa.pushed] == [(DRAFTS[0]["text"], True)]
    assert deliver_due(store, rasa) == {"delivered": 0, "retry": 0}


def test_rasa_down_keeps_the_delivery_pending_with_backoff_then_delivers(store):
    rasa = FakeRasa()
    rasa.down = True
    case_id = approved(store)
    tried_at = now()
    assert deliver_due(store, rasa) == {"delivered": 0, "retry": 1}
    delivery = store.cases.get_case(case_id)["deliveries"][0]
    assert delivery["state"] == "pending" and delivery["attempts"] == 1 and "unreachable" in delivery["last_error"]
    assert store.outbox.due(at=tried_at) == []  # not before its backoff (read on the store's clock, not the wall's)
    rasa.down = False
    due_later = store.outbox.due(at=now() + timedelta(seconds=2))
    assert [d["id"] for d in due_later] == [delivery["id"]]
    for _ in range(100):  # once due, the retry delivers it
        if deliver_due(store, rasa)["delivered"]:
            break
        time.sleep(0.05)
    assert store.cases.get_case(case_id)["deliveries"][0]["state"] == "delivered"


def test_a_retry_asks_rasa_first_and_never_sends_twice(store):
    rasa = FakeRasa()
    rasa.lose_answer = True
    case_id = approved(store)
    deliver_due(store, rasa)
    rasa.lose_answer = False
    for delivery in store.outbox.due(at=now() + timedelta(seconds=5)):
        assert delivery["attempts"] == 1
    # Due again: the retry finds the delivery id in the tracker and marks it delivered.
    store.outbox.mark_attempt_failed(store.cases.get_case(case_id)["deliveries"][0]["id"], "x", timedelta(seconds=-1))
    assert deliver_due(store, rasa) == {"delivered": 1, "retry": 0}
    assert len(rasa.pushed) == 1


def test_giving_up_after_the_last_attempt(store):
    rasa = FakeRasa()
    rasa.down = True
    case_id = approved(store)
    for _ in range(3):
        store.outbox.mark_attempt_failed(store.cases.get_case(case_id)["deliveries"][0]["id"], "x", timedelta(seconds=-1))
    deliver_due(store, rasa, max_attempts=4)
    assert store.cases.get_case(case_id)["deliveries"][0]["state"] == "failed"


def test_backoff_doubles_up_to_the_cap():
    assert [backoff(n, 10).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]


# ---- the event follower ------------------------------------------------------------------------
class Events:
    """Rasa's SQL event broker table, as Rasa writes it (id, sender_id, data as JSON)."""

    def __init__(self, url):
        self.engine = sa.create_engine(url)
        with self.engine.begin() as db:
            db.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, sender_id VARCHAR(255), "
                               "data TEXT)"))

    def add(self, sender, event):
        with self.engine.begin() as db:
            db.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"),
                       {"s": sender, "d": json.dumps(event, ensure_ascii=False)})

    def user(self, sender, text, intent, mid, entities=()):
        self.add(sender, {"event": "user", "text": text, "message_id": mid, "input_channel": "socketio",
                          "parse_data": {"intent": {"name": intent, "confidence": 0.93}, "entities": list(entities),
                                         "intent_ranking": [{"name": intent, "confidence": 0.93}]}})


@pytest.fixture
def events(tmp_path):
    return Events(f"sqlite:///{tmp_path / 'events.db'}")


@pytest.fixture
def follower(store, events, tmp_path):
    orders = {"1234567890": Order("1234567890", "in_transit", carrier="中通", product="羽绒服")}
    service = CaseService(store, find_order=orders.get, acceptance=lambda: None)
    return EventFollower(service, str(events.engine.url))


def test_the_follower_opens_a_case_with_the_order_and_queues_the_holding_message(follower, events, store):
    events.user("c1", "你好", "greet", "m0")
    events.add("c1", {"event": "bot", "text": "您好，请问有什么可以帮您？"})
    events.user("c1", "我的订单1234567890到底怎么回事！！", "complaint", "m1",
                [{"entity": "order_id", "value": "1234567890"}])
    assert follower.poll() == 3
    case = store.cases.open_case_for("c1")
    detail = store.cases.get_case(case["id"])
    assert detail["created_by"] == "follower" and detail["situation"]["facts"]["carrier"] == "中通"
    assert [d["kind"] for d in detail["deliveries"]] == ["holding"]
    assert store.follower.position("console") == 3


def test_the_follower_joins_each_message_once_and_records_the_bot(follower, events, store):
    events.user("c1", "我要投诉", "complaint", "m1")
    follower.poll()
    events.add("c1", {"event": "bot", "text": "已为您转接人工客服", "metadata": {}})
    events.user("c1", "人呢？？", "greet", "m2")
    follower.poll()
    store.follower.set_position("console", 0)  # a crash before the bookmark was written: replay
    follower.poll()
    detail = store.cases.get_case(store.cases.open_case_for("c1")["id"])
    assert [(m["sender"], m["text"]) for m in detail["messages"]] == [
        ("customer", "我要投诉"), ("bot", detail["deliveries"][0]["text"]), ("bot", "已为您转接人工客服"), ("customer", "人呢？？")]
    assert detail["batch"] == 2


def test_the_follower_leaves_what_the_bot_answers(follower, events, store):
    events.user("c1", "你们几点上班", "product_inquiry", "m1")
    follower.poll()
    assert store.cases.open_case_for("c1") is None


def test_a_bad_event_does_not_stop_the_stream(follower, events, store):
    with events.engine.begin() as db:
        db.execute(sa.text("INSERT INTO events (sender_id, data) VALUES ('c0', '{not json')"))
    events.user("c1", "我要投诉", "complaint", "m1")
    assert follower.poll() == 2
    assert store.cases.open_case_for("c1") is not None and store.cases.open_case_for("c0") is None
