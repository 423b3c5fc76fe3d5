"""The Rasa SDK actions with an in-code Tracker (rasa-action-examples' way): the whole event list
and the chosen responses are asserted; the case service and the order store are real, on
temporary files."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import faq as faq_action
from actions import handoff as handoff_action
from actions import order_status as order_action
from actions import shop
from assist.cases.service import CaseService
from assist.integrations.orders import Order, SqliteOrderStore
from assist.store import SuggestionStore


def tracker(text, intent, entities=(), slots=None, sender="t1", earlier=()):
    latest = {"text": text, "message_id": f"id-{len(earlier)}", "intent": {"name": intent, "confidence": 0.9},
              "intent_ranking": [{"name": intent, "confidence": 0.9}], "entities": list(entities)}
    events = [{"event": "user", "text": t} for t in earlier] + [{"event": "user", "text": text, "input_channel": "socketio"}]
    return Tracker(sender_id=sender, slots=slots or {}, latest_message=latest, events=events, paused=False,
                   followup_action=None, active_loop={}, latest_action_name="action_listen")


@pytest.fixture
def orders(tmp_path):
    now = datetime.now()
    store = SqliteOrderStore(tmp_path / "orders.db", seed_file=None, now=now)
    store.add(Order("1234567890", "in_transit", product="羽绒服", carrier="中通", promised_by=now - timedelta(days=5)))
    store.add(Order("6666888899", "paid", product="保温杯", promised_by=now + timedelta(days=3)))
    yield store
    store.close()


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture(autouse=True)
def wired(monkeypatch, store, orders):
    service = CaseService(store, find_order=orders.find, acceptance=lambda: None)
    monkeypatch.setattr(handoff_action, "case_service", lambda: service)
    monkeypatch.setattr(shop, "order_store", lambda: orders)


async def run(action, t):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return events, dispatcher.messages


async def test_handoff_opens_the_case_says_what_happens_next_and_pauses(store):
    t = tracker("订单1234567890都五天了还没到", "delivery_delay", [{"entity": "order_id", "value": "1234567890"}],
                earlier=["在吗"])
    events, said = await run(handoff_action.ActionHandoff(), t)
    assert events == [{"event": "pause", "timestamp": None}]
    case = store.cases.get_case(store.cases.open_case_for("t1")["id"])
    assert len(said) == 1 and "您" in said[0]["text"] and "人工" in said[0]["text"]  # the holding message only
    assert case["situation"]["facts"]["carrier"] == "中通" and case["situation"]["facts"]["days_late"] == 5
    assert [m["text"] for m in case["messages"]] == ["订单1234567890都五天了还没到"] and len(case["drafts"]) >= 2


async def test_handoff_remembers_the_order_from_a_slot(store):
    t = tracker("东西怎么还没到", "delivery_delay", slots={"order_id": "6666888899"})
    await run(handoff_action.ActionHandoff(), t)
    assert store.cases.open_case_for("t1")["situation"]["facts"]["product"] == "保温杯"


async def test_handoff_answers_a_rules_question_then_holds(store):
    events, said = await run(handoff_action.ActionHandoff(), tracker("七天无理由退货吗，运费谁出", "refund_return"))
    assert len(said) == 2 and "天" in said[0]["text"] and events == [{"event": "pause", "timestamp": None}]


async def test_handoff_with_the_store_down_still_holds_the_line(monkeypatch):
    def broken():
        raise RuntimeError("database is locked")

    monkeypatch.setattr(handoff_action, "case_service", broken)
    events, said = await run(handoff_action.ActionHandoff(), tracker("我要投诉", "complaint"))
    assert [m["response"] for m in said] == ["utter_handoff_holding"]
    assert events == [{"event": "pause", "timestamp": None}]


async def test_handoff_answers_within_its_deadline_and_finishes_the_case_after(monkeypatch, store):
    """The store is slow (locked by another writer): the customer hears the holding message within
    KEFU_HANDOFF_DEADLINE_SECONDS and the bot pauses; the case is opened when the store answers."""
    import threading
    import time

    from assist.settings import get_settings

    monkeypatch.setenv("KEFU_HANDOFF_DEADLINE_SECONDS", "0.3")
    get_settings.cache_clear()
    service = handoff_action.case_service()
    released = threading.Event()

    def slow_store():
        released.wait(5)
        return service

    monkeypatch.setattr(handoff_action, "case_service", slow_store)
    started = time.monotonic()
    events, said = await run(handoff_action.ActionHandoff(), tracker("我要投诉", "complaint"))
    assert time.monotonic() - started < 2
    assert [m["response"] for m in said] == ["utter_handoff_holding"] and events == [{"event": "pause", "timestamp": None}]
    released.set()
    for _ in range(100):
        if store.cases.open_case_for("t1"):
            break
        await asyncio.sleep(0.05)
    assert store.cases.open_case_for("t1") is not None


async def test_order_status_answers_from_the_order_and_hands_a_late_one_over():
    events, said = await run(order_action.ActionOrderStatus(), tracker("1234567890到哪了", "order_status",
                                                                      [{"entity": "order_id", "value": "1234567890"}]))
    assert [m["response"] for m in said] == ["utter_order_in_transit", "utter_order_late"]
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_handoff"}


async def test_order_status_without_a_number_asks_for_it():
    events, said = await run(order_action.ActionOrderStatus(), tracker("我的快递呢", "order_status"))
    assert [m["response"] for m in said] == ["utter_ask_order_id"] and events == []


async def test_order_status_for_an_unknown_number_says_so():
    events, said = await run(order_action.ActionOrderStatus(), tracker("9999999999呢", "order_status",
                                                                      [{"entity": "order_id", "value": "9999999999"}]))
    assert [m["response"] for m in said] == ["utter_order_not_found"]
    assert events == [{"event": "slot", "timestamp": None, "name": "order_id", "value": None}]


async def test_faq_answers_from_the_policy_or_offers_a_colleague():
    _, said = await run(faq_action.ActionAnswerFaq(), tracker("你们包邮吗", "product_inquiry"))
    assert len(said) == 1 and "包邮" in said[0]["text"]
    _, said = await run(faq_action.ActionAnswerFaq(), tracker("这个面料起球吗", "product_inquiry"))
    assert [m.get("response") for m in said] == ["utter_product_question_for_colleague"]
