"""The Rasa SDK actions with an in-code Tracker (rasa-action-examples' way): the whole event list
and the chosen responses are asserted; the case service and the order store are real, on
temporary files."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import faq as faq_action
from actions import handoff as handoff_action
from actions import order_form
from actions import order_status as order_action
from actions import reread
from actions import session as session_action
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
    monkeypatch.setattr(shop, "case_service", lambda: service)
    monkeypatch.setattr(shop, "order_store", lambda: orders)


DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))


async def run(action, t):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    return events, dispatcher.messages


PAUSE = {"event": "pause", "timestamp": None}


async def test_handoff_opens_the_case_says_what_happens_next_and_pauses(store):
    t = tracker("订单1234567890都五天了还没到", "delivery_delay", [{"entity": "order_id", "value": "1234567890"}],
                earlier=["在吗"])
    events, said = await run(handoff_action.ActionHandoff(), t)
    assert events == [PAUSE]
    case = store.cases.get_case(store.cases.open_case_for("t1")["id"])
    assert len(said) == 1 and "您" in said[0]["text"] and "人工" in said[0]["text"]  # the holding message only
    assert case["situation"]["facts"]["carrier"] == "中通" and case["situation"]["facts"]["days_late"] == 5
    assert [m["text"] for m in case["messages"]] == ["订单1234567890都五天了还没到"] and len(case["drafts"]) >= 2


async def test_handoff_remembers_the_order_from_a_slot(store):
    t = tracker("东西怎么还没到", "delivery_delay", slots={"order_id": "6666888899"})
    await run(handoff_action.ActionHandoff(), t)
    assert store.cases.open_case_for("t1")["situation"]["facts"]["product"] == "保温杯"


@pytest.mark.parametrize("text, intent, said_word", [
    ("七天无理由退货吗，运费谁出", "refund_return", "天"),
    ("能退货吗", "refund_return", "无理由"),
    ("退货运费谁出", "refund_return", "运费"),
    ("退款多久到账", "refund_return", "工作日"),
    ("包邮吗", "price_haggle", "包邮"),
    ("有运费险吗", "refund_return", "运费"),
    ("怎么退货", "refund_return", "申请售后"),
    ("如何退货", "refund_return", "申请售后"),
    ("退货流程是什么", "refund_return", "申请售后"),
])
async def test_a_rules_question_gets_the_answer_and_no_hand_over(store, text, intent, said_word):
    """Issue 13 item 2: the shop's answer stands alone; no case, no pause."""
    events, said = await run(handoff_action.ActionHandoff(), tracker(text, intent))
    assert events == [] and len(said) == 1 and said_word in said[0]["text"]
    assert "人工" not in said[0]["text"] and store.cases.open_case_for("t1") is None


@pytest.mark.parametrize("text, intent", [("我要退这单", "refund_return"), ("退款还没到 都一个星期了", "refund_return"),
                                          ("七天无理由退货吗？？你们什么垃圾店 气死我了", "refund_return")])
async def test_a_request_to_act_or_an_angry_customer_goes_to_a_person(store, text, intent):
    events, said = await run(handoff_action.ActionHandoff(), tracker(text, intent))
    assert events == [PAUSE] and len(said) == 1 and store.cases.open_case_for("t1") is not None


async def test_handoff_with_the_store_down_still_holds_the_line(monkeypatch):
    def broken():
        raise RuntimeError("database is locked")

    monkeypatch.setattr(shop, "case_service", broken)
    events, said = await run(handoff_action.ActionHandoff(), tracker("我要投诉", "complaint"))
    assert [m["response"] for m in said] == ["utter_handoff_holding"]
    assert events == [PAUSE]


async def test_handoff_answers_within_its_deadline_and_finishes_the_case_after(monkeypatch, store):
    """The store is slow (locked by another writer): the customer hears the holding message within
    KEFU_HANDOFF_DEADLINE_SECONDS and the bot pauses; the case is opened when the store answers."""
    import threading
    import time

    from assist.settings import get_settings

    monkeypatch.setenv("KEFU_HANDOFF_DEADLINE_SECONDS", "0.3")
    get_settings.cache_clear()
    service = shop.case_service()
    released = threading.Event()

    def slow_store():
        released.wait(5)
        return service

    monkeypatch.setattr(shop, "case_service", slow_store)
    started = time.monotonic()
    events, said = await run(handoff_action.ActionHandoff(), tracker("我要投诉", "complaint"))
    assert time.monotonic() - started < 2
    assert [m["response"] for m in said] == ["utter_handoff_holding"] and events == [PAUSE]
    released.set()
    for _ in range(100):
        if store.cases.open_case_for("t1"):
            break
        await asyncio.sleep(0.05)
    assert store.cases.open_case_for("t1") is not None


async def test_a_late_order_is_said_late_in_one_message_and_handed_over(store):
    """Issue 13 item 3: never an estimated date gone by; one clear answer, then a person."""
    events, said = await run(order_action.ActionOrderStatus(), tracker("1234567890到哪了", "order_status",
                                                                      [{"entity": "order_id", "value": "1234567890"}]))
    assert len(said) == 1 and "晚了5天" in said[0]["text"] and not re.search(r"预计\s*\d+月\d+日", said[0]["text"])
    assert events[-1] == PAUSE and {"event": "slot", "timestamp": None, "name": "order_id", "value": "1234567890"} in events
    assert store.cases.open_case_for("t1") is not None


async def test_an_order_on_time_is_answered_from_the_store(store):
    events, said = await run(order_action.ActionOrderStatus(), tracker("6666888899", "order_status",
                                                                      [{"entity": "order_id", "value": "6666888899"}]))
    assert [m["response"] for m in said] == ["utter_order_paid"] and PAUSE not in events
    assert store.cases.open_case_for("t1") is None


async def test_order_status_without_a_number_asks_for_it():
    events, said = await run(order_action.ActionOrderStatus(), tracker("我的快递呢", "order_status"))
    assert [m["response"] for m in said] == ["utter_ask_order_id"] and events == []


async def test_a_general_question_after_a_lookup_gets_the_general_answer():
    """一般几天能到 right after an order lookup: the shipping policy, not the same order again."""
    events, said = await run(order_action.ActionOrderStatus(), tracker("一般几天能到", "order_status",
                                                                      slots={"order_id": "6666888899"}))
    assert len(said) == 1 and "小时内发出" in said[0]["text"] and events == []


async def test_order_status_for_an_unknown_number_says_so_and_hands_over(store):
    events, said = await run(order_action.ActionOrderStatus(), tracker("9999999999呢", "order_status",
                                                                      [{"entity": "order_id", "value": "9999999999"}]))
    assert len(said) == 1 and "9999999999" in said[0]["text"] and "没有查到" in said[0]["text"]
    assert events == [{"event": "slot", "timestamp": None, "name": "order_id", "value": None}, PAUSE]


def form_tracker(text, intent, entities=(), requested="order_id"):
    t = tracker(text, intent, entities, slots={"requested_slot": requested})
    t.active_loop = {"name": "order_form"}
    return t


@pytest.mark.parametrize("text, intent", [("2023110188", "goodbye"), ("1234567890", "nlu_fallback"),
                                          ("5550001111", "greet"), ("订单号2023110188", "nlu_fallback"),
                                          ("订单编号：2023110188 订单金额：59元", "order_status")])
async def test_the_order_form_takes_the_number_it_asked_for_whatever_nlu_read(text, intent):
    """Issue 13 item 1: a bare number after 麻烦您发一下订单号 is the answer."""
    number = [c for c in text if c.isdigit()]
    events, said = await run(order_form.ValidateOrderForm(), form_tracker(text, intent))
    assert events[0] == {"event": "slot", "timestamp": None, "name": "order_id", "value": "".join(number)[:10]}
    assert said == []


@pytest.mark.parametrize("text, intent, why", [("不知道订单号", "nlu_fallback", "where"), ("好的 我找一下", "affirm", "wait"),
                                               ("我的快递呢", "order_status", "unclear")])
async def test_the_order_form_asks_again_in_words_that_fit(text, intent, why):
    events, _ = await run(order_form.ValidateOrderForm(), form_tracker(text, intent))
    assert {"event": "slot", "timestamp": None, "name": "order_ask", "value": why} in events
    t = tracker(text, intent, slots={"order_ask": why})
    _, said = await run(order_form.ActionAskOrderId(), t)
    assert [m["response"] for m in said] == [order_form.ASK_RESPONSES[why]]


@pytest.mark.parametrize("text, intent", [("拜拜", "goodbye"), ("不用了", "deny"), ("我要投诉你们", "complaint")])
async def test_the_order_form_lets_go_of_something_else(text, intent):
    events, _ = await run(order_form.ValidateOrderForm(), form_tracker(text, intent))
    assert events[-1]["event"] == "action_execution_rejected"


async def test_the_order_form_asks_nothing_when_the_number_came_with_the_question():
    events, _ = await run(order_form.ValidateOrderForm(), form_tracker("2023110188到哪了", "order_status",
                                                                      [{"entity": "order_id", "value": "2023110188"}],
                                                                      requested=None))
    assert events == [{"event": "slot", "timestamp": None, "name": "requested_slot", "value": None}]


@pytest.mark.parametrize("text, intent, response", [
    ("没有了", "nlu_fallback", "utter_goodbye"), ("不用了", "out_of_scope", "utter_deny"),
    ("签收了", "nlu_fallback", "utter_arrived"), ("好的谢谢", "nlu_fallback", "utter_thanks"),
])
async def test_an_unsure_reading_of_an_ending_gets_a_polite_close(text, intent, response):
    """Issue 13 item 4: endings with no person get a close, never a 'didn't understand' menu."""
    events, said = await run(reread.ActionReread(), tracker(text, intent))
    assert [m["response"] for m in said] == [response] and events == []


async def test_a_shipping_question_read_as_out_of_scope_is_answered_from_the_policy():
    _, said = await run(reread.ActionReread(), tracker("发成都大概要几天", "out_of_scope"))
    assert len(said) == 1 and "小时内发出" in said[0]["text"]


async def test_a_number_read_as_fallback_is_looked_up():
    events, said = await run(reread.ActionReread(), tracker("6666888899", "nlu_fallback"))
    assert [m["response"] for m in said] == ["utter_order_paid"]


async def test_a_new_session_stays_paused_while_a_person_has_the_case(store):
    """Issue 13 item 5: Rasa's new session (60 idle minutes) un-pauses; an open case pauses it again."""
    await run(handoff_action.ActionHandoff(), tracker("我要投诉", "complaint", sender="t9"))
    t = tracker("在吗", "greet", sender="t9", slots={"order_id": "1234567890", "requested_slot": "order_id"})
    events, _ = await run(session_action.ActionSessionStart(), t)
    assert events[0]["event"] == "session_started" and PAUSE in events and events[-1]["name"] == "action_listen"
    assert {"event": "slot", "timestamp": None, "name": "order_id", "value": "1234567890"} in events
    assert not any(e.get("name") == "requested_slot" for e in events if e["event"] == "slot")
    events, _ = await run(session_action.ActionSessionStart(), tracker("在吗", "greet", sender="nobody"))
    assert PAUSE not in events


async def test_faq_answers_from_the_policy_or_offers_a_colleague():
    _, said = await run(faq_action.ActionAnswerFaq(), tracker("支持花呗吗", "product_inquiry"))
    assert len(said) == 1 and "花呗" in said[0]["text"]
    _, said = await run(faq_action.ActionAnswerFaq(), tracker("你们包邮吗", "product_inquiry"))
    assert len(said) == 1 and "包邮" in said[0]["text"]
    _, said = await run(faq_action.ActionAnswerFaq(), tracker("这件外套是纯棉的吗", "product_inquiry"))
    assert [m.get("response") for m in said] == ["utter_product_question_for_colleague"]


async def test_an_order_card_with_a_masked_number_goes_to_a_person_not_asked_again(store):
    t = tracker("咨询订单号:[订单x] 订单金额:[金额x]", "order_status")
    events, _ = await run(order_form.ValidateOrderForm(), t)
    assert events == [{"event": "slot", "timestamp": None, "name": "requested_slot", "value": None}]
    events, said = await run(order_action.ActionOrderStatus(), t)
    assert len(said) == 1 and "订单号" not in said[0]["text"] and events == [PAUSE]


async def test_an_unplaced_question_is_offered_a_colleague_not_a_menu():
    _, said = await run(reread.ActionReread(), tracker("这款什么时候能再上架呢？", "nlu_fallback"))
    assert [m["response"] for m in said] == ["utter_product_question_for_colleague"]
    _, said = await run(reread.ActionReread(), tracker("啊吧啊吧 qwerty", "nlu_fallback"))
    assert [m["response"] for m in said] == ["utter_ask_rephrase"]
