"""The suggestion store: cases, batches of drafts, decisions exactly once, the outbox."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from assist.store import AlreadyHandled, NotFound, SuggestionStore, WrongState, edit_distance

SITUATION = {"intent": "delivery_delay", "concerns": ["delivery_delay"], "mood": "angry", "temperament": "agitated", "urgency": 7.5}
DRAFTS = [
    {"text": "非常抱歉让您久等了，我马上帮您催件，今天18点前给您回复，您看可以吗？", "score": 0.9, "reason": "angry + late", "variant_id": "delivery_delay.a"},
    {"text": "抱歉让您着急了，麻烦您发一下订单号，我这就帮您查，好吗？", "score": 0.7, "reason": "asks for order", "variant_id": "delivery_delay.b"},
]


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


def test_a_case_collects_messages_and_batches_of_drafts(store):
    first = store.cases.open_case("c1", SITUATION, DRAFTS, "快递一周了还没到", channel="socketio", source_key="e1")
    second = store.cases.open_case("c1", dict(SITUATION, urgency=3), DRAFTS[:1], "还没到！", source_key="e2")
    assert second["id"] == first["id"] and second["joined"] and second["batch"] == 2
    case = store.cases.get_case(first["id"])
    assert [m["text"] for m in case["messages"]] == ["快递一周了还没到", "还没到！"]
    assert [d["batch"] for d in case["drafts"]] == [2]  # only the current batch is offered
    assert case["urgency"] == 7.5  # urgency never drops while the case is open
    assert case["channel"] == "socketio"


def test_the_same_event_never_joins_twice(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "hi", source_key="e1")
    assert store.cases.add_message(case["id"], "customer", "hi", source_key="e1") is False
    assert len(store.cases.get_case(case["id"])["messages"]) == 1


def test_open_cases_are_ordered_by_urgency(store):
    store.cases.open_case("calm", dict(SITUATION, urgency=1), DRAFTS, "能便宜点吗")
    store.cases.open_case("angry", dict(SITUATION, urgency=9), DRAFTS, "气死了")
    listed = store.queue.open_queue()
    assert [c["conversation_id"] for c in listed] == ["angry", "calm"]
    assert listed[0]["last_customer_text"] == "气死了"


def test_approve_queues_exactly_one_delivery_and_records_the_decision(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "快递一周了还没到")
    drafts = store.cases.get_case(case["id"])["drafts"]
    decision = store.decisions.decide(case["id"], "agent-a", "approve", draft_id=drafts[1]["id"], batch=case["batch"])
    assert decision["final_text"] == DRAFTS[1]["text"] and decision["edit_distance"] == 0
    assert decision["variant_id"] == "delivery_delay.b"
    due = store.outbox.due()
    assert [d["text"] for d in due] == [DRAFTS[1]["text"]]
    with pytest.raises(AlreadyHandled):
        store.decisions.decide(case["id"], "agent-b", "approve", draft_id=drafts[0]["id"], batch=case["batch"])


def test_concurrent_approvals_give_one_decision(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "快递一周了还没到")
    draft_id = store.cases.get_case(case["id"])["drafts"][0]["id"]
    results = []

    def approve(agent):
        try:
            results.append(store.decisions.decide(case["id"], agent, "approve", draft_id=draft_id, batch=case["batch"]))
        except AlreadyHandled as error:
            results.append(error)

    threads = [threading.Thread(target=approve, args=(f"agent-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, dict) for r in results) == 1
    assert len(store.outbox.due()) == 1


def test_idempotency_key_returns_the_same_decision(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "x")
    draft_id = store.cases.get_case(case["id"])["drafts"][0]["id"]
    first = store.decisions.decide(case["id"], "a", "approve", draft_id=draft_id, idempotency_key="k1")
    again = store.decisions.decide(case["id"], "a", "approve", draft_id=draft_id, idempotency_key="k1")
    assert first["id"] == again["id"] and len(store.outbox.due()) == 1


def test_a_superseded_batch_cannot_be_decided(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "x")
    old = store.cases.get_case(case["id"])["drafts"][0]["id"]
    store.cases.open_case("c1", SITUATION, DRAFTS, "y")
    with pytest.raises(AlreadyHandled):
        store.decisions.decide(case["id"], "a", "approve", draft_id=old)


def test_edit_records_distance_and_reject_delivers_nothing(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "x")
    draft = store.cases.get_case(case["id"])["drafts"][0]
    edited = store.decisions.decide(case["id"], "a", "edit", draft_id=draft["id"], text=draft["text"] + "谢谢您")
    assert edited["edit_distance"] == 3
    store.cases.open_case("c1", SITUATION, DRAFTS, "y")
    store.decisions.decide(case["id"], "a", "reject", reason="太长了")
    assert len(store.outbox.due()) == 1


def test_resolving_closes_the_case_and_queues_the_bot_resume(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "x")
    draft_id = store.cases.get_case(case["id"])["drafts"][0]["id"]
    store.decisions.decide(case["id"], "a", "approve", draft_id=draft_id, resolve=True)
    assert store.cases.get_case(case["id"])["state"] == "resolved"
    assert store.outbox.due()[0]["resume_bot"] is True
    with pytest.raises(WrongState):
        store.decisions.decide(case["id"], "a", "reject")
    assert store.cases.open_case("c1", SITUATION, DRAFTS, "again")["id"] != case["id"]


def test_unknown_ids_and_bad_decisions(store):
    with pytest.raises(NotFound):
        store.cases.get_case("nope")
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "x")
    with pytest.raises(NotFound):
        store.decisions.decide(case["id"], "a", "approve", draft_id=99999)
    with pytest.raises(ValueError):
        store.decisions.decide(case["id"], "a", "edit", text="   ")
    with pytest.raises(ValueError):
        store.decisions.decide(case["id"], "a", "shout")


def test_failed_delivery_is_retried_later(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "x")
    delivery_id = store.outbox.queue_message(case["id"], "仍在处理中，请您稍等")
    assert store.outbox.start_attempt(store.outbox.due()[0], lease=timedelta(seconds=10))
    assert store.outbox.due() == []  # held while the push is under way
    store.outbox.retry_later(delivery_id, "rasa down", timedelta(seconds=60))
    assert store.outbox.due() == []
    store.outbox.retry_later(delivery_id, "rasa down", timedelta(seconds=-1))
    assert [d["attempts"] for d in store.outbox.due()] == [1]  # counted once, when it was made
    store.outbox.mark_delivered(delivery_id)
    assert store.outbox.due() == []


def test_an_attempt_is_taken_by_one_worker_only(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "x")
    store.outbox.queue_message(case["id"], "仍在处理中，请您稍等")
    seen_by_two = store.outbox.due()[0]
    assert store.outbox.start_attempt(seen_by_two, lease=timedelta(seconds=-1))
    assert not store.outbox.start_attempt(seen_by_two, lease=timedelta(seconds=-1))


def test_a_message_queued_once_per_key(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "x")
    first = store.outbox.queue_message(case["id"], "已为您转接人工客服", kind="holding", once_key="hold:msg:m1")
    assert first is not None
    assert store.outbox.queue_message(case["id"], "已为您转接人工客服", kind="holding", once_key="hold:msg:m1") is None
    assert len(store.cases.get_case(case["id"])["deliveries"]) == 1


def test_agent_tokens(store):
    token = store.agents.create_agent("xiaowang")
    assert store.agents.agent_for_token(token) == "xiaowang"
    assert store.agents.agent_for_token("guess") is None and store.agents.agent_for_token("") is None
    rotated = store.agents.create_agent("xiaowang")
    assert store.agents.agent_for_token(token) is None and store.agents.agent_for_token(rotated) == "xiaowang"


def test_html_in_customer_text_is_stored_verbatim(store):
    text = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    case = store.cases.open_case("c1", SITUATION, DRAFTS, text)
    assert store.cases.get_case(case["id"])["messages"][0]["text"] == text


def test_edit_distance():
    assert edit_distance("您好", "您好") == 0
    assert edit_distance("今天回复您", "明天回复您") == 1
    assert edit_distance("", "abc") == 3
