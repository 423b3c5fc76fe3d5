"""The console's workers without servers: the outbox against a fake Rasa client, the event follower
against an events table written the way Rasa's SQL event broker writes it, and the loops' backoff.
The store is a real SQLite file; "the store is read-only" is another connection holding its write
lock (as root, chmod would not stop a write), with a short lock wait."""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from assist.cases.service import CaseService
from assist.integrations.orders import Order
from assist.integrations.rasa import DeliveryRefused, RasaUnavailable, refusal
from assist.store import StoreUnavailable, SuggestionStore
from assist.store.db import now
from console.workers.bookmark import Progress
from console.workers.follower import EventFollower
from console.workers.shares import SHARES, Membership
from console.workers.loops import FailureStreak
from console.workers.outbox import backoff, deliver_due

SITUATION = {"intent": "complaint", "concerns": ["complaint"], "mood": "angry", "urgency": 5}
DRAFTS = [{"text": "非常抱歉给您添麻烦了，我马上为您核实，您看可以吗？", "score": 1, "reason": "", "variant_id": "complaint.a"}]


class FakeRasa:
    """Rasa's HTTP API at the far edge. `pushed` is what reached the customer's client (with the
    delivery id it carries); Rasa can be down, lose its answer, or emit a push it has not saved yet
    (slow, or the console died mid-request), which the tracker check cannot see."""

    def __init__(self):
        self.pushed = []      # (conversation, text, key, pause, resume)
        self.saved = set()    # delivery keys in the tracker
        self.down = False
        self.lose_answer = False
        self.unsaved = False
        self.after_push = None
        self.refuse = None    # the customer's channel refuses texts for good, with this reason
        self.appended = []    # (conversation, channel, pause, resume) of pushes without a text

    def deliver(self, conversation_id, channel, text, key, resume=False, pause=False, sender="agent"):
        if self.down:
            raise RasaUnavailable("Rasa at http://127.0.0.1:5005 unreachable: connection refused")
        if self.refuse and text:
            raise DeliveryRefused(self.refuse)
        if not text:
            self.appended.append((conversation_id, channel, pause, resume))
            return
        self.pushed.append((conversation_id, text, key, pause, resume))
        if not self.unsaved:
            self.saved.add(key)
        if self.after_push:
            self.after_push()
        if self.lose_answer or self.unsaved:
            raise RasaUnavailable("read timed out")  # Rasa has it (or is still at it), the answer never came

    def was_delivered(self, conversation_id, key):
        if self.down:
            raise RasaUnavailable("down")
        return key in self.saved


@pytest.fixture
def store_url(tmp_path, monkeypatch):
    monkeypatch.setenv("KEFU_STORE_LOCK_SECONDS", "0.2")  # a locked store fails fast
    return f"sqlite:///{tmp_path / 's.db'}"


@pytest.fixture
def store(store_url):
    return SuggestionStore.migrated(store_url)


@contextmanager
def store_locked(url):
    """Another process holds the store's write lock: reads work, every write fails."""
    db = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def due_now(store):
    """Make every pending delivery due (as if its backoff or lease had passed)."""
    with store.engine.begin() as db:
        db.execute(sa.text("UPDATE kefu_deliveries SET next_attempt_at = '2000-01-01 00:00:00'"))


def approved(store, conversation="c1"):
    case = store.cases.open_case(conversation, SITUATION, DRAFTS, "东西坏了")
    draft_id = store.cases.get_case(case["id"])["drafts"][0]["id"]
    store.decisions.decide(case["id"], "xiaowang", "approve", draft_id=draft_id, resolve=True)
    return case["id"]


def delivery_of(store, case_id):
    return store.cases.get_case(case_id)["deliveries"][0]


def test_an_approved_text_is_delivered_once_with_the_bot_resumed(store):
    rasa = FakeRasa()
    case_id = approved(store)
    assert deliver_due(store, rasa) == {"delivered": 1, "retry": 0, "refused": 0}
    assert [(p[1], p[2], p[4]) for p in rasa.pushed] == [(DRAFTS[0]["text"], f"d{delivery_of(store, case_id)['id']}", True)]
    assert deliver_due(store, rasa) == {"delivered": 0, "retry": 0, "refused": 0}
    assert delivery_of(store, case_id)["attempts"] == 1


def test_rasa_down_keeps_the_delivery_pending_with_backoff_then_delivers(store):
    rasa = FakeRasa()
    rasa.down = True
    case_id = approved(store)
    tried_at = now()
    assert deliver_due(store, rasa) == {"delivered": 0, "retry": 1, "refused": 0}
    delivery = delivery_of(store, case_id)
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
    assert delivery_of(store, case_id)["attempts"] == 1
    due_now(store)
    # Due again: the retry finds the delivery id in the tracker and marks it delivered.
    assert deliver_due(store, rasa) == {"delivered": 1, "retry": 0, "refused": 0}
    assert len(rasa.pushed) == 1


def test_giving_up_after_the_last_attempt(store):
    rasa = FakeRasa()
    rasa.down = True
    case_id = approved(store)
    for _ in range(4):
        due_now(store)
        deliver_due(store, rasa, max_attempts=4)
    delivery = delivery_of(store, case_id)
    assert delivery["state"] == "failed" and delivery["attempts"] == 4


def test_a_text_the_channel_refuses_for_good_fails_at_once_with_its_reason_and_the_bot_resumes(store):
    """WeChat's 48-hour rule: retrying cannot deliver it. Failed on the first attempt, the reason kept
    for the console, never tried again; the resume the agent's decision asked for still happens."""
    rasa = FakeRasa()
    rasa.refuse = "微信拒收（45015）：顾客已超过48小时没有给公众号发消息"
    case_id = approved(store)  # approved with resolve=True: the bot resumes after the text
    assert deliver_due(store, rasa) == {"delivered": 0, "retry": 0, "refused": 1}
    delivery = delivery_of(store, case_id)
    assert (delivery["state"], delivery["attempts"], delivery["last_error"]) == ("failed", 1, rasa.refuse)
    assert rasa.appended == [("c1", None, False, True)] and rasa.pushed == []
    due_now(store)
    assert deliver_due(store, rasa) == {"delivered": 0, "retry": 0, "refused": 0}
    assert delivery_of(store, case_id)["attempts"] == 1


def test_a_refusal_is_read_from_rasas_error_answer():
    answer = json.dumps({"version": "3.6.21", "status": "failure", "reason": "ConversationError", "code": 500,
                         "message": "An unexpected error occurred. Error: kefu-refused: 微信拒收（45015）：顾客已超过48小时"})
    assert refusal(answer) == "微信拒收（45015）：顾客已超过48小时"
    assert refusal(json.dumps({"message": "An unexpected error occurred. Error: WeChat did not take delivery d3"})) is None
    assert refusal("<html>502 Bad Gateway</html>") is None


def test_backoff_doubles_up_to_the_cap():
    assert [backoff(n, 10).total_seconds() for n in (1, 2, 4, 5, 6, 7)] == [1, 2, 8, 10, 10, 10]


# ---- issue 15, item 1: the resend loop ------------------------------------------------------------
def test_a_locked_store_after_the_push_never_makes_a_resend_loop(store, store_url):
    """The push lands, then the store turns read-only before "delivered" is written: the old outbox
    counted no attempt and pushed again every pass (41 times in the probe). Now the attempt was
    counted before the push; while the store is locked nothing more is sent; once it is back, the
    retry finds the delivery in the tracker."""
    rasa = FakeRasa()
    case_id = approved(store)
    lock = store_locked(store_url)
    rasa.after_push = lock.__enter__  # the store goes read-only right after Rasa took the text
    expired = timedelta(seconds=-1)   # the worst case: the attempt's lease has run out at once
    with pytest.raises(sa.exc.OperationalError):
        deliver_due(store, rasa, lease=expired)
    rasa.after_push = None
    for _ in range(20):  # the worker's passes while the store stays locked
        with pytest.raises(sa.exc.OperationalError):
            deliver_due(store, rasa, lease=expired)
    assert len(rasa.pushed) == 1
    lock.__exit__(None, None, None)
    due_now(store)
    assert deliver_due(store, rasa) == {"delivered": 1, "retry": 0, "refused": 0}
    assert len(rasa.pushed) == 1 and delivery_of(store, case_id)["state"] == "delivered"


def test_nothing_is_sent_that_the_store_could_not_count(store, store_url):
    rasa = FakeRasa()
    approved(store)
    with store_locked(store_url), pytest.raises(sa.exc.OperationalError):
        deliver_due(store, rasa)
    assert rasa.pushed == []


# ---- item 2: what the tracker check cannot see ----------------------------------------------------
def test_a_push_rasa_has_not_saved_is_sent_again_under_the_same_id(store):
    """Rasa emitted the text but had not saved it when the retry looked (slow past the client
    timeout, or the console died mid-request): the text goes out again, under the same delivery id,
    so the customer's client shows it once."""
    rasa = FakeRasa()
    rasa.unsaved = True
    case_id = approved(store)
    deliver_due(store, rasa)
    rasa.unsaved = False
    due_now(store)
    assert deliver_due(store, rasa) == {"delivered": 1, "retry": 0, "refused": 0}
    keys = [p[2] for p in rasa.pushed]
    assert len(keys) == 2 and len(set(keys)) == 1 == len({p[1] for p in rasa.pushed})
    assert delivery_of(store, case_id)["attempts"] == 2


def test_a_console_that_dies_mid_push_leaves_a_retry_after_the_lease(store):
    rasa = FakeRasa()
    case_id = approved(store)
    delivery = store.outbox.due()[0]
    assert store.outbox.start_attempt(delivery, lease=timedelta(seconds=30))  # counted; then the process died
    assert deliver_due(store, rasa) == {"delivered": 0, "retry": 0, "refused": 0}  # held for the lease
    due_now(store)
    assert deliver_due(store, rasa) == {"delivered": 1, "retry": 0, "refused": 0}
    assert len(rasa.pushed) == 1 and delivery_of(store, case_id)["attempts"] == 2


# ---- item 6: backoff and one log line per failure streak ------------------------------------------
def test_a_failure_streak_is_logged_once_and_backs_off(caplog):
    streak = FailureStreak("outbox", first=0.05, cap=2.0)
    outage = sa.exc.OperationalError("UPDATE kefu_deliveries …", {}, sqlite3.OperationalError("database is locked"))
    with caplog.at_level(logging.INFO, logger="kefu.console"):
        waits = [streak.failed(outage) for _ in range(200)]
        streak.succeeded()
        streak.succeeded()
    assert waits[:4] == [0.05, 0.1, 0.2, 0.4] and max(waits) == 2.0
    lines = [r for r in caplog.records if r.name == "kefu.console"]
    assert len(lines) == 2 and all(r.exc_info is None for r in lines)
    assert "store is unavailable (database is locked)" in lines[0].getMessage()
    assert "working again after 200 failed tries" in lines[1].getMessage()


def test_an_unexpected_failure_gets_one_traceback_per_streak(caplog):
    streak = FailureStreak("follower", first=0.05, cap=1.0)
    with caplog.at_level(logging.INFO, logger="kefu.console"):
        for _ in range(50):
            streak.failed(KeyError("parse_data"))
    assert [bool(r.exc_info) for r in caplog.records if r.name == "kefu.console"] == [True]


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

    def handoff_turn(self, sender, paused=True):
        """What Rasa publishes after the handoff action: its action event, then its holding message and
        pause — or, when Rasa gave up waiting for the action, nothing from it and the next action_listen."""
        self.add(sender, {"event": "action", "name": "action_handoff"})
        if paused:
            self.add(sender, {"event": "bot", "text": "已为您转接人工客服，请稍等"})
            self.add(sender, {"event": "pause"})
        else:
            self.add(sender, {"event": "action", "name": "action_listen"})


@pytest.fixture
def events(tmp_path):
    return Events(f"sqlite:///{tmp_path / 'events.db'}")


ORDERS = {"1234567890": Order("1234567890", "in_transit", carrier="中通", product="羽绒服")}


def make_follower(store, events, **options):
    """One console (the same member of the following consoles however often it is made: it follows every share)."""
    service = CaseService(store, find_order=ORDERS.get, acceptance=lambda: None)
    options.setdefault("membership", Membership(store.follower, holder="console-under-test"))
    return EventFollower(service, str(events.engine.url), **dict({"settle_seconds": 0, "retry_seconds": 0}, **options))


@pytest.fixture
def follower(store, events):
    return make_follower(store, events)


def kinds(store, conversation):
    return [d["kind"] for d in store.cases.get_case(store.cases.latest_case_for(conversation)["id"])["deliveries"]]


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
    assert store.follower.lowest("console") == 3


def test_the_follower_joins_each_message_once_and_records_the_bot(follower, events, store):
    events.user("c1", "我要投诉", "complaint", "m1")
    follower.poll()
    events.add("c1", {"event": "bot", "text": "已为您转接人工客服", "metadata": {}})
    events.user("c1", "人呢？？", "greet", "m2")
    follower.poll()
    # A crash before the bookmarks were written: a new follower reads everything again.
    for share in range(SHARES):
        store.follower.set_position(f"console/share-{share:02d}", 0)
    make_follower(store, events).poll()
    detail = store.cases.get_case(store.cases.open_case_for("c1")["id"])
    assert [(m["sender"], m["text"]) for m in detail["messages"]] == [
        ("customer", "我要投诉"), ("bot", detail["deliveries"][0]["text"]), ("bot", "已为您转接人工客服"), ("customer", "人呢？？")]
    assert detail["batch"] == 2 and len(detail["deliveries"]) == 1


def test_the_follower_leaves_what_the_bot_answers(follower, events, store):
    events.user("c1", "你们几点上班", "product_inquiry", "m1")
    follower.poll()
    assert store.cases.open_case_for("c1") is None


# ---- item 4: nothing skipped ------------------------------------------------------------------------
def test_a_store_outage_never_moves_the_bookmark_past_a_message(follower, events, store, store_url):
    """The old follower logged the failure and moved on: the customer had been told a person
    would answer, the bot stayed paused, and no case ever existed."""
    events.user("c1", "我要投诉，东西是坏的", "complaint", "m1")
    events.handoff_turn("c1", paused=True)  # the action spoke, but could not write the case
    with store_locked(store_url):
        with pytest.raises(StoreUnavailable):
            follower.poll()
        with pytest.raises(StoreUnavailable):
            follower.poll()
    assert store.follower.lowest("console") == 0 and store.cases.open_case_for("c1") is None
    assert follower.poll() == 4
    case = store.cases.open_case_for("c1")
    assert case is not None and store.follower.lowest("console") == 4
    assert kinds(store, "c1") == []  # the action's holding message was said: none twice
    assert store.dead_letters.open_count() == 0  # an outage is waited out, never counted


def test_a_bad_event_is_retried_then_kept_as_a_dead_letter_while_others_go_on(store, events):
    follower = make_follower(store, events, max_tries=3)
    with events.engine.begin() as db:
        db.execute(sa.text("INSERT INTO events (sender_id, data) VALUES ('c0', '{not json')"))
    events.user("c0", "我要投诉", "complaint", "m0")   # behind the bad event: keeps its order
    events.user("c1", "我要投诉", "complaint", "m1")   # another customer: not held up
    assert follower.poll() == 1
    assert store.cases.open_case_for("c1") is not None and store.cases.open_case_for("c0") is None
    assert store.follower.lowest("console") == 0
    follower.poll()
    assert store.dead_letters.open_count() == 0
    assert follower.poll() == 2  # third try: a dead letter; the stream moves on
    assert store.cases.open_case_for("c0") is not None and store.follower.lowest("console") == 3
    letters = store.dead_letters.open_letters()
    assert [(d["event_id"], d["conversation_id"], d["tries"]) for d in letters] == [(1, "c0", 3)]
    assert "JSONDecodeError" in letters[0]["error"] and letters[0]["event"] == "{not json"
    assert store.queue.snapshot()["dead_letters"] == 1


def test_a_failing_event_is_tried_again_with_backoff(store, events):
    follower = make_follower(store, events, max_tries=5, retry_seconds=60)
    with events.engine.begin() as db:
        db.execute(sa.text("INSERT INTO events (sender_id, data) VALUES ('c0', '{not json')"))
    for _ in range(10):
        follower.poll()
    assert follower.failures[1][0] == 1 and store.dead_letters.open_count() == 0


def test_the_bookmark_stops_at_the_first_event_not_handled():
    progress = Progress(10)
    progress.done.update({11, 12, 14})
    assert progress.advance([11, 12, 13, 14]) and progress.position == 12
    progress.done.add(13)
    assert progress.advance([13, 14]) and progress.position == 14 and progress.done == set()


def test_the_bookmark_waits_at_a_gap_in_the_ids_then_steps_over_one_that_stays_empty():
    """Another Rasa server's insert is not committed yet (13 waits for 11), or was rolled back (15 for 14)."""
    progress = Progress(10, gap_seconds=30)
    progress.saw([12], read_at=100.0)
    progress.done.add(12)
    assert not progress.advance([12]) and progress.position == 10
    progress.saw([11, 12], read_at=110.0)  # it committed: read from the held bookmark
    progress.done.add(11)
    assert progress.advance([11, 12]) and progress.position == 12
    progress.saw([14], read_at=111.0)
    progress.done.add(14)
    assert not progress.advance([14])
    progress.saw([14], read_at=141.0)
    assert progress.advance([14]) and progress.position == 14 and progress.first_read == {}


# ---- item 5: who tells the customer ------------------------------------------------------------------
def test_a_turn_the_action_never_answered_gets_the_holding_message_once(follower, events, store):
    """Rasa gave up on a hung action server: its turn has the handoff action but no pause."""
    events.user("c1", "你们这服务太差了", "complaint", "m1")
    events.handoff_turn("c1", paused=False)
    follower.poll()
    assert kinds(store, "c1") == ["holding"]
    make_follower(store, events).poll()  # read again after a restart
    assert kinds(store, "c1") == ["holding"]


def test_a_late_action_that_opened_the_case_still_leaves_the_customer_a_holding_message(follower, events, store):
    """The action server woke up after Rasa had given up: it opened the case, but its holding
    message went nowhere. The follower sees an unpaused turn and says it."""
    service = CaseService(store, find_order=ORDERS.get, acceptance=lambda: None)
    from assist.cases.messages import CustomerMessage

    service.on_customer_message(CustomerMessage("c1", "你们这服务太差了", "m1", "socketio",
                                                {"intent": {"name": "complaint"}}), hand_over=True)
    events.user("c1", "你们这服务太差了", "complaint", "m1")
    events.handoff_turn("c1", paused=False)
    follower.poll()
    assert kinds(store, "c1") == ["holding"]
    assert store.cases.get_case(store.cases.open_case_for("c1")["id"])["created_by"] == "action"


def test_a_turn_still_being_published_waits(store, events):
    follower = make_follower(store, events, settle_seconds=60)
    events.user("c1", "我要投诉", "complaint", "m1")
    assert follower.poll() == 0 and store.cases.open_case_for("c1") is None
    events.handoff_turn("c1", paused=True)
    assert follower.poll() == 4
    assert store.cases.open_case_for("c1") is not None and kinds(store, "c1") == []


# ---- issue 13: one voice -----------------------------------------------------------------------------
def bot_turn(events, sender, action, text):
    events.add(sender, {"event": "action", "name": action})
    events.add(sender, {"event": "bot", "text": text})
    events.add(sender, {"event": "action", "name": "action_listen"})


def test_a_turn_one_of_our_actions_answered_gets_no_second_voice(follower, events, store):
    """The action asked the case service before answering (a rules question: the answer is the help)."""
    events.user("c1", "七天无理由退货吗", "refund_return", "m1")
    bot_turn(events, "c1", "action_handoff", "签收后7天内可以申请无理由退货")
    follower.poll()
    assert store.cases.latest_case_for("c1") is None


def test_an_angry_customer_answered_by_a_reply_template_still_gets_a_person(follower, events, store):
    events.user("c1", "你好？？？有没有人 气死我了 垃圾店", "greet", "m1")
    bot_turn(events, "c1", "utter_greet", "您好呀，我是店铺的智能客服")
    follower.poll()
    assert store.cases.open_case_for("c1") is not None and kinds(store, "c1") == ["holding"]


def test_rasa_own_fallback_with_the_action_server_down_still_leaves_a_case_and_a_holding_message(follower, events, store):
    """The action server down: Rasa's session start fails, its rules miss and action_default_fallback
    answers. Nobody asked the case service, so the follower opens the case and the holding goes out."""
    events.user("c1", "退款申请一个礼拜了还没到账", "refund_return", "m1")
    bot_turn(events, "c1", "action_default_fallback", "抱歉，我没太理解您的意思")
    follower.poll()
    assert store.cases.open_case_for("c1") is not None and kinds(store, "c1") == ["holding"]


def test_a_follower_behind_the_action_leaves_a_message_from_before_the_case_out_of_it(follower, events, store):
    """The bot answered a question, then the action opened a case on the next message, all before the
    follower read either: the question is not a follow-up of the case (it would join after the message
    that opened it, out of the conversation's order)."""
    from assist.cases.messages import CustomerMessage

    events.user("c1", "你好", "greet", "m0")
    events.add("c1", {"event": "action", "name": "utter_greet"})
    events.add("c1", {"event": "bot", "text": "您好，请问有什么可以帮您？"})
    events.add("c1", {"event": "action", "name": "action_listen"})
    service = CaseService(store, find_order=ORDERS.get, acceptance=lambda: None)
    service.on_customer_message(CustomerMessage("c1", "东西坏了我要投诉", "m1", "socketio",
                                                {"intent": {"name": "complaint"}}), hand_over=True)
    events.user("c1", "东西坏了我要投诉", "complaint", "m1")
    events.handoff_turn("c1")
    events.user("c1", "人呢", "greet", "m2")
    follower.poll()
    detail = store.cases.get_case(store.cases.open_case_for("c1")["id"])
    assert [m["text"] for m in detail["messages"] if m["sender"] == "customer"] == ["东西坏了我要投诉", "人呢"]


def test_a_message_before_a_case_whose_opening_rasa_has_not_published_stays_out_of_it(store, events):
    """The action opened the case inside the next turn, which Rasa publishes only when it ends; the
    follower reads the earlier message first. The opener's tracker held it (earlier_keys), so it is
    left out at once — no waiting on Rasa — and the case's messages stay in the customer's order."""
    from assist.cases.messages import CustomerMessage, earlier_messages

    follower = make_follower(store, events, settle_seconds=5)
    events.user("c1", "你好", "greet", "m0")
    events.add("c1", {"event": "action", "name": "utter_greet"})
    events.add("c1", {"event": "bot", "text": "您好，请问有什么可以帮您？"})
    events.add("c1", {"event": "action", "name": "action_listen"})
    tracker_events = [{"event": "user", "text": "你好", "message_id": "m0"}, {"event": "bot", "text": "您好"},
                      {"event": "user", "text": "东西坏了我要投诉", "message_id": "m1"}]
    assert earlier_messages(tracker_events) == [("msg:m0", "你好", None)]
    service = CaseService(store, find_order=ORDERS.get, acceptance=lambda: None)
    service.on_customer_message(CustomerMessage("c1", "东西坏了我要投诉", "m1", "socketio", {"intent": {"name": "complaint"}},
                                                earlier=earlier_messages(tracker_events)), hand_over=True)
    follower.poll()
    case_id = store.cases.open_case_for("c1")["id"]

    def customer_said():
        return [m["text"] for m in store.cases.get_case(case_id)["messages"] if m["sender"] == "customer"]

    assert customer_said() == ["东西坏了我要投诉"]
    events.user("c1", "东西坏了我要投诉", "complaint", "m1")
    events.handoff_turn("c1")
    events.user("c1", "人呢", "chitchat", "m2")
    follower.poll()
    assert customer_said() == ["东西坏了我要投诉", "人呢"]
    assert store.follower.lowest("console") == 9  # nothing left behind


def test_a_case_opened_while_the_follower_reads_an_earlier_message_leaves_that_message_out(store, events, monkeypatch):
    """The follower found no case for the bot's greeting turn and was about to ask the case service
    about it when the action opened a case on the customer's next message: the greeting is one of
    the case's earlier messages, not a follow-up after the opening one (a scale run caught it)."""
    from assist.cases.messages import CustomerMessage

    follower = make_follower(store, events)
    service = CaseService(store, find_order=ORDERS.get, acceptance=lambda: None)
    events.user("c1", "在不在", "greet", "m0")
    events.add("c1", {"event": "action", "name": "utter_greet"})
    events.add("c1", {"event": "bot", "text": "您好，请问有什么可以帮您？"})
    events.add("c1", {"event": "action", "name": "action_listen"})
    read_turn = follower._turn

    def the_action_opens_the_case_meanwhile(event_id, conversation_id):
        service.on_customer_message(CustomerMessage("c1", "东西坏了我要投诉", "m1", "socketio", {"intent": {"name": "complaint"}},
                                                    earlier=[("msg:m0", "在不在", None)]), hand_over=True)
        return read_turn(event_id, conversation_id)

    monkeypatch.setattr(follower, "_turn", the_action_opens_the_case_meanwhile)
    follower.poll()
    case = store.cases.get_case(store.cases.open_case_for("c1")["id"])
    assert [m["text"] for m in case["messages"] if m["sender"] == "customer"] == ["东西坏了我要投诉"]
    assert case["batch"] == 1  # nor was a batch drafted for it


def test_a_follow_up_read_before_the_opening_is_published_still_joins(store, events):
    """A message the opener's tracker did not hold is a follow-up even while the opening message's turn
    is unpublished (Rasa gave up on a slow action and took the next message): never lost."""
    from assist.cases.messages import CustomerMessage

    follower = make_follower(store, events, settle_seconds=5)
    service = CaseService(store, find_order=ORDERS.get, acceptance=lambda: None)
    service.on_customer_message(CustomerMessage("c1", "东西坏了我要投诉", "m1", "socketio", {"intent": {"name": "complaint"}},
                                                earlier=[("msg:m0", "你好", None)]), hand_over=True)
    events.user("c1", "人呢？？", "chitchat", "m2")
    follower.poll()
    case = store.cases.get_case(store.cases.open_case_for("c1")["id"])
    assert [m["text"] for m in case["messages"] if m["sender"] == "customer"] == ["东西坏了我要投诉", "人呢？？"]


def test_a_follow_up_the_action_joins_brings_the_earlier_ones_the_follower_has_not_reached(store, events):
    """Rasa gave up on the action that opened the case, so the bot answered the next message itself; the
    one after reaches the action again, which joins it at once while the follower is still behind: the
    message in between joins first (from the tracker), and the follower finds it there, once."""
    from assist.cases.messages import CustomerMessage

    service = CaseService(store, find_order=ORDERS.get, acceptance=lambda: None)
    follower = make_follower(store, events, settle_seconds=5)
    complaint = {"intent": {"name": "complaint", "confidence": 0.9}}
    service.on_customer_message(CustomerMessage("c1", "东西坏了我要投诉", "m1", "socketio", complaint,
                                                earlier=[("msg:m0", "你好", None)]), hand_over=True)
    tracker = [("msg:m0", "你好", None), ("msg:m1", "东西坏了我要投诉", None), ("msg:m2", "谢谢", None)]
    service.on_customer_message(CustomerMessage("c1", "到底有没有人管", "m3", "socketio", complaint, earlier=tracker))
    case_id = store.cases.open_case_for("c1")["id"]

    def customer_said():
        return [m["text"] for m in store.cases.get_case(case_id)["messages"] if m["sender"] == "customer"]

    assert customer_said() == ["东西坏了我要投诉", "谢谢", "到底有没有人管"]
    events.user("c1", "你好", "greet", "m0")
    events.user("c1", "东西坏了我要投诉", "complaint", "m1")
    events.handoff_turn("c1", paused=False)
    events.user("c1", "谢谢", "thanks", "m2")
    events.add("c1", {"event": "bot", "text": "不客气"})
    events.add("c1", {"event": "action", "name": "action_listen"})
    events.user("c1", "到底有没有人管", "complaint", "m3")
    events.handoff_turn("c1")
    follower.poll()
    assert customer_said() == ["东西坏了我要投诉", "谢谢", "到底有没有人管"]


def test_a_hand_over_nobody_took_opens_the_case_when_the_customer_is_next_handed_over(store, events):
    """Rasa gave up on the handoff of a complaint and the follower was down (its console killed), so the
    bot answered the next two messages itself. The next hand-over opens the case on the complaint — the
    message that needed a person — with everything after it in order, and the follower, back, adds
    neither a message nor a second holding message (the action's hand-over told the customer)."""
    from assist.cases.messages import CustomerMessage, earlier_messages, stranded_handover

    service = CaseService(store, find_order=ORDERS.get, acceptance=lambda: None)
    events.user("c1", "你好", "greet", "m0")
    bot_turn(events, "c1", "utter_greet", "您好，请问有什么可以帮您？")
    events.user("c1", "东西坏了我要投诉", "complaint", "m1")
    events.handoff_turn("c1", paused=False)
    events.user("c1", "在吗", "greet", "m2")
    bot_turn(events, "c1", "utter_greet", "在的亲")
    events.user("c1", "谢谢", "thanks", "m3")
    bot_turn(events, "c1", "utter_thanks", "不客气")
    events.user("c1", "到底有没有人管", "complaint", "m4")
    tracker = [json.loads(row.data) for row in make_follower(store, events).log.read_after(0, 100)]
    stranded = stranded_handover(tracker, "c1")
    assert stranded.message_id == "m1" and stranded.earlier_keys == ["msg:m0"]
    latest = CustomerMessage("c1", "到底有没有人管", "m4", "socketio", {"intent": {"name": "complaint"}},
                             earlier=earlier_messages(tracker), stranded=stranded)
    assert service.needs_person(latest)
    assert service.on_customer_message(latest, hand_over=True).kind == "joined"
    case = store.cases.open_case_for("c1")

    def customer_said():
        return [m["text"] for m in store.cases.get_case(case["id"])["messages"] if m["sender"] == "customer"]

    assert store.cases.opening_key(case["id"]) == "msg:m1"
    assert customer_said() == ["东西坏了我要投诉", "在吗", "谢谢", "到底有没有人管"]
    events.handoff_turn("c1")
    make_follower(store, events).poll()  # the console is back
    assert customer_said() == ["东西坏了我要投诉", "在吗", "谢谢", "到底有没有人管"]
    assert kinds(store, "c1") == []  # the action's hand-over said the holding message, once


def test_a_hand_over_that_paused_or_was_taken_later_is_not_stranded():
    from assist.cases.messages import stranded_handover

    def turn(mid, text, *after):
        return [{"event": "user", "text": text, "message_id": mid}, *after]

    handed = {"event": "action", "name": "action_handoff"}
    listen = {"event": "action", "name": "action_listen"}
    pause = {"event": "pause"}
    assert stranded_handover(turn("m1", "我要投诉", handed, pause) + turn("m2", "人呢"), "c1") is None
    # the follower opened it and its holding message (through the outbox) paused the bot
    assert stranded_handover(turn("m1", "我要投诉", handed, listen) + turn("m2", "人呢", pause) + turn("m3", "?"), "c1") is None
    # the earliest of two nobody took; the latest message itself never counts
    found = stranded_handover(turn("m1", "我要投诉", handed, listen) + turn("m2", "退款", handed, listen)
                              + turn("m3", "人呢", handed), "c1")
    assert found.message_id == "m1"
    assert stranded_handover(turn("m1", "我要投诉", handed), "c1") is None


def test_a_case_that_knows_its_earlier_messages_needs_no_search_of_rasas_events(store, events, monkeypatch):
    """The action's case keeps its earlier keys, so the follower joins a follow-up without looking for
    the opening message in Rasa's events (one query less per message)."""
    from assist.cases.messages import CustomerMessage

    follower = make_follower(store, events, settle_seconds=5)
    monkeypatch.setattr(follower.log, "position_of", lambda *args: pytest.fail("searched Rasa's events"))
    service = CaseService(store, find_order=ORDERS.get, acceptance=lambda: None)
    service.on_customer_message(CustomerMessage("c1", "东西坏了我要投诉", "m1", "socketio", {"intent": {"name": "complaint"}},
                                                earlier=[]), hand_over=True)
    events.user("c1", "东西坏了我要投诉", "complaint", "m1")
    events.handoff_turn("c1")
    events.user("c1", "人呢", "chitchat", "m2")
    follower.poll()
    case = store.cases.get_case(store.cases.open_case_for("c1")["id"])
    assert [m["text"] for m in case["messages"] if m["sender"] == "customer"] == ["东西坏了我要投诉", "人呢"]


def test_the_outbox_serves_conversations_side_by_side_and_each_ones_texts_in_order(store):
    """Several conversations at once (a push waits on Rasa); one conversation's second text never
    overtakes its first, which must be retried: it waits for the next pass."""
    class FlakyOnce(FakeRasa):
        def __init__(self):
            super().__init__()
            self.failed = False

        def deliver(self, conversation_id, channel, text, key, resume=False, pause=False, sender="agent"):
            if conversation_id == "c1" and not self.failed:
                self.failed = True
                raise RasaUnavailable("read timed out")
            super().deliver(conversation_id, channel, text, key, resume, pause, sender)

    rasa = FlakyOnce()
    first = approved(store, "c1")
    store.outbox.queue_message(first, "另外，赠品会和商品一起寄出。")
    for conversation in ("c2", "c3", "c4"):
        approved(store, conversation)
    assert deliver_due(store, rasa, workers=3) == {"delivered": 3, "retry": 1, "refused": 0}
    assert sorted(p[0] for p in rasa.pushed) == ["c2", "c3", "c4"]
    assert deliver_due(store, rasa, workers=3)["delivered"] == 0  # c1's second waits behind its first's backoff
    due_now(store)
    while deliver_due(store, rasa, workers=3)["delivered"]:
        pass
    assert [p[1] for p in rasa.pushed if p[0] == "c1"] == [DRAFTS[0]["text"], "另外，赠品会和商品一起寄出。"]


# ---- several consoles share the following ------------------------------------------------------------
def test_the_shares_are_dealt_so_every_one_has_exactly_one_console():
    from console.workers.shares import dealt, share_of

    for members in (["a"], ["a", "b"], ["c", "a", "b"]):
        hands = [dealt(members, holder) for holder in members]
        assert sorted(share for hand in hands for share in hand) == list(range(SHARES))
        assert max(map(len, hands)) - min(map(len, hands)) <= 1
    assert dealt(["b"], "a") == dealt(["a", "b"], "a")  # a console counts itself before its first beat is read
    assert share_of("scale-1") == share_of("scale-1") and len({share_of(f"c{i}") for i in range(200)}) == SHARES


def test_a_console_not_seen_for_a_while_is_no_longer_a_member(store):
    start = now()
    assert store.follower.beat("a", 10, at=start) == ["a"]
    assert store.follower.beat("b", 10, at=start + timedelta(seconds=5)) == ["a", "b"]
    assert store.follower.beat("b", 10, at=start + timedelta(seconds=11)) == ["b"]  # a stopped beating
    store.follower.leave("b")
    assert store.follower.beat("c", 10, at=start + timedelta(seconds=12)) == ["c"]


def test_a_bookmark_only_moves_forward(store):
    assert store.follower.positions(["console/share-00", "console/share-01"], start=7) == {
        "console/share-00": 7, "console/share-01": 7}
    store.follower.move_forward({"console/share-00": 12, "console/share-01": 9})
    store.follower.move_forward({"console/share-00": 10})  # a console behind, for a moment also following it
    assert store.follower.positions(["console/share-00", "console/share-01"], start=0) == {
        "console/share-00": 12, "console/share-01": 9}
    assert store.follower.lowest("console") == 9


def two_consoles(store, events, **options):
    from console.workers.shares import Membership

    return [make_follower(store, events, membership=Membership(store.follower, holder=holder, beat_seconds=0, **options))
            for holder in ("console-a", "console-b")]


def customers_in_cases(store, conversations):
    return {c for c in conversations if store.cases.open_case_for(c) is not None}


def test_two_consoles_split_the_stream_and_together_handle_every_message_once(store, events):
    from console.workers.shares import share_of

    a, b = two_consoles(store, events)
    a.poll(), b.poll()  # both beat: each now knows the other
    conversations = [f"c{i}" for i in range(12)]
    for conversation in conversations:
        events.user(conversation, "我要投诉，东西是坏的", "complaint", f"{conversation}-m1")
    handled = {"a": a.poll(), "b": b.poll()}
    assert customers_in_cases(store, conversations) == set(conversations)
    assert handled["a"] + handled["b"] == len(conversations) and handled["a"] and handled["b"]
    assert not set(a.bookmarks.shares) & set(b.bookmarks.shares)
    for conversation in conversations:
        assert share_of(conversation) in (a.bookmarks.shares if share_of(conversation) in a.bookmarks.shares
                                          else b.bookmarks.shares)
        assert kinds(store, conversation) == ["holding"]  # one holding message each, not one per console
    assert store.follower.lowest("console") == len(conversations)  # every share's bookmark past them all


def test_the_shares_of_a_console_that_died_are_followed_on_from_their_bookmarks(store, events):
    """b was killed before it handled a message of its share: a takes b's shares once b stops beating
    and handles that message from the share's bookmark — nothing lost, nothing twice."""
    from console.workers.shares import share_of

    a, b = two_consoles(store, events, alive_seconds=0.3)
    a.poll(), b.poll()
    mine_b = set(b.bookmarks.shares)
    theirs = next(f"c{i}" for i in range(100) if share_of(f"c{i}") in mine_b)
    ours = next(f"c{i}" for i in range(100) if share_of(f"c{i}") not in mine_b)
    events.user(ours, "我要投诉", "complaint", "m1")
    events.user(theirs, "我要投诉", "complaint", "m2")
    a.poll()
    assert customers_in_cases(store, [ours, theirs]) == {ours}  # b's share waits for b …
    time.sleep(0.4)
    a.poll()  # … until b is no longer seen
    assert customers_in_cases(store, [ours, theirs]) == {ours, theirs} and len(a.bookmarks.shares) == SHARES
    assert kinds(store, theirs) == ["holding"]


def test_a_console_that_stops_hands_its_shares_over_at_once(store, events):
    from console.workers.shares import share_of

    a, b = two_consoles(store, events)
    a.poll(), b.poll()
    theirs = next(f"c{i}" for i in range(100) if share_of(f"c{i}") in b.bookmarks.shares)
    b.membership.leave()
    events.user(theirs, "我要投诉", "complaint", "m1")
    a.poll()
    assert store.cases.open_case_for(theirs) is not None


def test_the_bookmarks_are_written_at_most_so_often_and_what_came_since_is_harmlessly_read_again(store, events):
    """A write per poll was much of a busy follower's work. A console that dies before the next write
    leaves its successor to read those events again: each message is still in its case once."""
    follower = make_follower(store, events, save_seconds=60)
    events.user("c1", "我要投诉", "complaint", "m1")
    assert follower.poll() == 1  # the first write is at once
    events.user("c2", "我要投诉", "complaint", "m2")
    events.user("c1", "人呢？？", "chitchat", "m3")
    assert follower.poll() == 2
    assert store.follower.lowest("console") == 1  # not written yet: 60 s have not passed
    make_follower(store, events).poll()  # the next console reads m2 and m3 again
    case = store.cases.get_case(store.cases.open_case_for("c1")["id"])
    assert [m["text"] for m in case["messages"] if m["sender"] == "customer"] == ["我要投诉", "人呢？？"]
    assert kinds(store, "c2") == ["holding"] and store.follower.lowest("console") == 3
