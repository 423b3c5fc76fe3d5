"""No decision within the configured time → the customer gets an honest update, not silence."""
from datetime import datetime, timedelta, timezone

import pytest

from assist.cases.service import CaseService
from assist.store import SuggestionStore

SITUATION = {"intent": "refund_return", "concerns": ["refund_return"], "mood": "calm", "urgency": 2}
DRAFTS = [{"text": "您好，我马上帮您查询退款进度，您看可以吗？", "score": 1, "reason": "", "variant_id": "v"}]
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=timezone.utc)  # 14:00 in Shanghai, a Tuesday


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


def send_updates(store, now, wait_seconds=180, max_updates=2):
    return CaseService(store, acceptance=lambda: None).send_wait_updates(wait_seconds, max_updates, now=now)


def updates(store, case_id):
    return [d for d in store.cases.get_case(case_id)["deliveries"] if d["kind"] == "update"]


def test_a_waiting_customer_gets_updates_up_to_the_limit(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "退款什么时候到账", at=NOW - timedelta(minutes=4))
    assert send_updates(store, NOW) == 1
    text = updates(store, case["id"])[0]["text"]
    assert "您" in text and len(text) <= 150
    assert send_updates(store, NOW) == 0  # not again at once
    assert send_updates(store, NOW + timedelta(minutes=3)) == 1
    assert send_updates(store, NOW + timedelta(hours=1)) == 0  # limit reached
    assert len(updates(store, case["id"])) == 2


def test_no_update_once_a_person_answered(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "退款什么时候到账", at=NOW - timedelta(minutes=10))
    draft_id = store.cases.get_case(case["id"])["drafts"][0]["id"]
    store.decisions.decide(case["id"], "agent", "approve", draft_id=draft_id)
    assert send_updates(store, NOW, wait_seconds=60) == 0


def test_no_update_before_the_limit(store):
    store.cases.open_case("c1", SITUATION, DRAFTS, "退款什么时候到账", at=NOW - timedelta(seconds=30))
    assert send_updates(store, NOW) == 0


def test_the_update_speaks_of_the_shop_clock_not_the_server_clock(store):
    """10:05 in Shanghai is 02:05 UTC: the shop is open, so the customer hears "still on it",
    not "we open at 09:00" (the server's UTC read as Shanghai time said exactly that)."""
    morning = datetime(2026, 11, 24, 2, 5, tzinfo=timezone.utc)
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "退款什么时候到账", at=morning - timedelta(minutes=5))
    assert send_updates(store, morning, wait_seconds=60) == 1
    text = updates(store, case["id"])[0]["text"]
    assert "09:00" not in text and "明天" not in text, text
    store.cases.close_case(case["id"])
    night = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)  # 23:00 in Shanghai
    later = store.cases.open_case("c2", SITUATION, DRAFTS, "在吗", at=night - timedelta(minutes=5))
    assert send_updates(store, night, wait_seconds=60) == 1
    assert "09:00" in updates(store, later["id"])[0]["text"]


def hand_back(store, now, after_seconds=1800):
    return CaseService(store, acceptance=lambda: None).hand_back_unanswered(after_seconds, now=now)


def test_a_case_nobody_answers_is_handed_back_honestly_and_stays_searchable(store):
    """Issue 13 item 5: the customer is told, the bot resumes, the case is closed as abandoned."""
    from assist.store import ABANDONED
    from assist.text.search import search_form

    case = store.cases.open_case("c1", SITUATION, DRAFTS, "退款什么时候到账", at=NOW - timedelta(minutes=31))
    young = store.cases.open_case("c2", SITUATION, DRAFTS, "退款什么时候到账", at=NOW - timedelta(minutes=5))
    assert hand_back(store, NOW) == 1
    closed = store.cases.get_case(case["id"])
    assert closed["state"] == ABANDONED and store.cases.open_case_for("c1") is None
    told = [d for d in closed["deliveries"] if d["kind"] == "system"]
    assert len(told) == 1 and "抱歉" in told[0]["text"] and "人工" in told[0]["text"] and told[0]["resume_bot"]
    assert closed["messages"][-1]["sender"] == "bot" and closed["messages"][-1]["text"] == told[0]["text"]
    assert store.cases.get_case(young["id"])["state"] == "open"
    assert case["id"] in [c["id"] for c in store.records.closed_cases()]
    assert case["id"] in [c["id"] for c in store.records.search_cases("退款什么时候到账", search_form)]
    assert hand_back(store, NOW + timedelta(hours=2), after_seconds=0) == 0  # 0: never


def test_a_case_a_person_answered_is_not_handed_back(store):
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "退款什么时候到账", at=NOW - timedelta(hours=2))
    draft_id = store.cases.get_case(case["id"])["drafts"][0]["id"]
    store.decisions.decide(case["id"], "agent", "approve", draft_id=draft_id)
    assert hand_back(store, NOW) == 0 and store.cases.get_case(case["id"])["state"] == "open"
