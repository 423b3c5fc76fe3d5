"""The case service is the only writer of case state: one way in for a customer's message whoever
saw it first (the handoff action or the follower), idempotent per message id, with the order looked
up and the shop's context read either way."""
from __future__ import annotations

from datetime import datetime

import pytest

from assist.cases.acts import CANCEL_REPLY, is_cancel
from assist.cases.messages import CustomerMessage, customer_texts
from assist.cases.service import CaseService
from assist.integrations.orders import Order, OrderStoreError
from assist.store import Claimed, SuggestionStore

NOW = datetime(2026, 11, 20, 10, 0)


class FakeOrders:
    """The order store's far edge: a dict, counting lookups; an id in `broken` raises."""

    def __init__(self, *orders: Order, broken=()):
        self.orders = {o.order_id: o for o in orders}
        self.broken = set(broken)
        self.asked = []

    def find(self, order_id):
        self.asked.append(order_id)
        if order_id in self.broken:
            raise OrderStoreError("order API timed out")
        return self.orders.get(order_id)


LATE = Order("1234567890", "in_transit", product="羽绒服", carrier="中通", promised_by=datetime(2026, 11, 15, 18, 0),
             last_location="杭州转运中心")
PAID = Order("6666888899", "paid", product="保温杯")


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture
def orders():
    return FakeOrders(LATE, PAID, broken={"5550001111"})


@pytest.fixture
def service(store, orders):
    return CaseService(store, find_order=orders.find, acceptance=lambda: None)


def message(text, mid, intent="complaint", entities=(), conversation="c1", **extra):
    parse = {"intent": {"name": intent, "confidence": 0.9}, "intent_ranking": [{"name": intent, "confidence": 0.9}],
             "entities": list(entities)}
    return CustomerMessage(conversation_id=conversation, text=text, message_id=mid, channel="socketio", parse=parse, **extra)


def order_entity(value):
    return {"entity": "order_id", "value": value, "start": 0, "end": len(value)}


def test_a_message_that_needs_a_person_opens_a_case_with_the_order_looked_up(service, store, orders):
    outcome = service.on_customer_message(message("订单1234567890到现在还没到，太慢了", "m1", "delivery_delay", [order_entity("1234567890")]))
    assert outcome.kind == "opened" and outcome.holding_text
    case = store.cases.get_case(outcome.case_id)
    facts = case["situation"]["facts"]
    assert facts["order_id"] == "1234567890" and facts["carrier"] == "中通" and facts["status"] == "in_transit"
    assert case["situation"]["nlu"]["intent"] == "delivery_delay" and case["versions"]["templates"].startswith("t-")
    assert 2 <= len(case["drafts"]) <= 3 and orders.asked == ["1234567890"]


def test_a_message_the_bot_answers_opens_nothing(service, store):
    assert service.on_customer_message(message("你好", "m1", "greet")).kind == "none"
    assert store.queue.open_queue() == []


def test_the_same_message_seen_twice_changes_nothing(service, store):
    """The action opens the case inside Rasa's turn; the follower reads the same message after it."""
    first = service.on_customer_message(message("东西坏了我要投诉", "m1"), hand_over=True)
    again = service.on_customer_message(message("东西坏了我要投诉", "m1"), hold_through_outbox=True)
    assert again.kind == "duplicate" and again.case_id == first.case_id
    case = store.cases.get_case(first.case_id)
    assert len(case["messages"]) == 1 and case["batch"] == 1 and case["deliveries"] == []


def test_the_follower_way_queues_the_holding_message(service, store):
    outcome = service.on_customer_message(message("你们客服态度太差了", "m1"), hold_through_outbox=True)
    case = store.cases.get_case(outcome.case_id)
    assert case["created_by"] == "follower"
    assert [(d["kind"], d["text"]) for d in case["deliveries"]] == [("holding", outcome.holding_text)]


def test_the_shop_context_gives_the_order_whoever_opens_the_case(service, store, orders):
    store.customers.set_chat_context("c1", {"order_id": "6666888899"}, verified=True)
    outcome = service.on_customer_message(message("怎么还不发货啊", "m1", "delivery_delay"), hold_through_outbox=True)
    facts = store.cases.get_case(outcome.case_id)["situation"]["facts"]
    assert facts["order_id"] == "6666888899" and facts["order_id_from_shop"] == "verified" and facts["status"] == "paid"


def test_facts_accumulate_and_an_order_is_looked_up_once(service, store, orders):
    opened = service.on_customer_message(message("东西不对，我要投诉", "m1"))
    assert "order_id" not in store.cases.get_case(opened.case_id)["situation"]["facts"]
    service.on_customer_message(message("1234567890", "m2", "order_status", [order_entity("1234567890")]))
    service.on_customer_message(message("在吗？", "m3", "greet"))
    case = store.cases.get_case(opened.case_id)
    facts = case["situation"]["facts"]
    assert facts["order_id"] == "1234567890" and facts["product"] == "羽绒服"  # kept on the third message
    assert orders.asked == ["1234567890"] and case["batch"] == 3
    # Another order number replaces the first order's facts.
    service.on_customer_message(message("不对是这个6666888899", "m4", "order_status", [order_entity("6666888899")]))
    facts = store.cases.get_case(opened.case_id)["situation"]["facts"]
    assert facts["order_id"] == "6666888899" and facts["product"] == "保温杯" and "last_location" not in facts


def test_an_order_store_failure_costs_the_lookup_not_the_case(service, store, orders):
    outcome = service.on_customer_message(message("订单5550001111怎么回事", "m1", "complaint", [order_entity("5550001111")]))
    assert outcome.kind == "opened"
    assert store.cases.get_case(outcome.case_id)["situation"]["facts"]["order_id"] == "5550001111"


def test_a_short_cancel_closes_the_case_politely(service, store):
    opened = service.on_customer_message(message("我要退款", "m1", "refund_return"))
    outcome = service.on_customer_message(message("算了不用了", "m2", "deny"))
    assert outcome.kind == "cancelled" and outcome.reply_text == CANCEL_REPLY
    case = store.cases.get_case(opened.case_id)
    assert case["state"] == "cancelled" and case["deliveries"][-1]["resume_bot"] is True


@pytest.mark.parametrize("text, intent, cancels", [
    ("算了不用了", None, True), ("不需要了谢谢", None, True), ("取消人工", None, True), ("不", "deny", True),
    ("算了，你们这服务我要去投诉到12315", "complaint", False), ("不是这个意思，我是说快递没到", "deny", False),
    ("好的", "affirm", False),
])
def test_cancel_detection(text, intent, cancels):
    assert is_cancel(text, intent) is cancels


def test_replaying_a_conversation_gives_the_same_case_every_time(tmp_path, orders):
    said = [message("订单1234567890还没到", "m1", "delivery_delay", [order_entity("1234567890")]),
            message("到底什么时候到？？", "m2", "delivery_delay"), message("在吗", "m3", "greet")]

    def replay(name):
        store = SuggestionStore.migrated(f"sqlite:///{tmp_path / name}")
        service = CaseService(store, find_order=orders.find, acceptance=lambda: None)
        case_id = [service.on_customer_message(m, hand_over=True).case_id for m in said][0]
        case = store.cases.get_case(case_id)
        return case["situation"], [d["text"] for d in case["drafts"]], case["concerns"], case["mood"]

    assert replay("a.db") == replay("b.db")


def test_a_correction_redrafts_with_the_case_facts_and_nlu_reading(service, store):
    opened = service.on_customer_message(message("订单1234567890东西坏了", "m1", "complaint", [order_entity("1234567890")]))
    service.correct(opened.case_id, "xiaowang", "refund_return")
    case = store.cases.get_case(opened.case_id)
    assert case["concerns"][0] == "refund_return" and case["batch"] == 2
    assert case["situation"]["facts"]["order_id"] == "1234567890"
    assert case["situation"]["nlu"]["intent"] == "refund_return"
    assert store.learning.corrections()[0]["corrected"] == "refund_return"


def test_only_the_claiming_agent_decides(service, store):
    opened = service.on_customer_message(message("我要投诉", "m1"))
    draft_id = store.cases.get_case(opened.case_id)["drafts"][0]["id"]
    service.claim(opened.case_id, "xiaowang")
    with pytest.raises(Claimed):
        service.decide(opened.case_id, "xiaoli", "approve", draft_id=draft_id)
    with pytest.raises(Claimed):
        service.resolve(opened.case_id, "xiaoli")
    assert service.decide(opened.case_id, "xiaowang", "approve", draft_id=draft_id)["agent"] == "xiaowang"


def test_earlier_words_come_from_rasa_events_without_the_latest():
    events = [{"event": "user", "text": "在吗"}, {"event": "bot", "text": "您好"}, {"event": "user", "text": "东西坏了"},
              {"event": "user", "text": "人呢"}]
    assert customer_texts(events) == ["在吗", "东西坏了"]


def test_history_is_read_only_for_a_new_case(service):
    reads = []

    def earlier():
        reads.append(1)
        return ["之前问过一次了"]

    service.on_customer_message(message("我要投诉", "m1", history=earlier))
    service.on_customer_message(message("人呢", "m2", "greet", history=earlier))
    assert reads == [1]


def test_a_case_another_caller_opens_meanwhile_is_joined_in_the_customer_s_order(service, store, monkeypatch):
    """The follower opens the case on message 3 while the handoff action of message 6 reads: the action
    found no case, then finds one open when it opens its own. It joins after 4 and 5, not before them."""
    earlier = [("msg:m1", "这个保温杯能直接装开水吗", None), ("msg:m3", "快递说已签收，可我根本没收到", None),
               ("msg:m4", "我等着呢，别忘了我", None), ("msg:m5", "顺便问下运费谁出", None)]
    opened = service.on_customer_message(message("快递说已签收，可我根本没收到", "m3", "delivery_delay",
                                                 earlier=earlier[:1]), hand_over=True, hold_through_outbox=True)
    seen_first = store.cases.open_case_for
    calls = []
    # The action's first look found no case: the follower opened it a moment after.
    monkeypatch.setattr(store.cases, "open_case_for", lambda c: None if not calls.append(c) and len(calls) == 1 else seen_first(c))
    outcome = service.on_customer_message(message("能不能先给我个说法", "m6", "complaint", earlier=earlier), hand_over=True)
    texts = [m["text"] for m in store.cases.get_case(opened.case_id)["messages"] if m["sender"] == "customer"]
    assert outcome.case_id == opened.case_id
    assert texts == ["快递说已签收，可我根本没收到", "我等着呢，别忘了我", "顺便问下运费谁出", "能不能先给我个说法"]
