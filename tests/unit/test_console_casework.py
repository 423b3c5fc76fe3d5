"""The console's case work behind the pages: claims and takeovers, concern corrections, the
live queue, search, history and figures, one-click fixes, and the web chat's public API.
(Roles, transfers and reassignments: test_console_team.py.)"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from assist.settings import Settings
from assist.store import SuggestionStore, waiting_since
from assist.store.figures import percentile
from console.app import create_app
from assist.text.search import search_form
from console.routes.live import QueueWatcher

ANGRY = {"intent": "delivery_delay", "concerns": ["delivery_delay"], "mood": "angry", "temperament": "agitated", "urgency": 9,
         "facts": {"order_id": "1234567890", "carrier": "中通", "days_late": 5}, "urgency_reasons": ["催件+3"]}
CALM = {"intent": "complaint", "concerns": ["complaint"], "mood": "calm", "temperament": "reasoning", "urgency": 2}
DRAFTS = [
    {"text": "非常抱歉让您久等了，我马上帮您催件，今天18点前给您回复，您看可以吗？", "score": 0.9, "reason": "angry + late", "variant_id": "delivery_delay.a"},
    {"text": "抱歉让您着急了，我这就帮您查物流，您看可以吗？", "score": 0.7, "reason": "short", "variant_id": "delivery_delay.b"},
]


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture
def app(store, tmp_path):
    settings = Settings(store_url=store.url, events_url=f"sqlite:///{tmp_path / 'events.db'}", rasa_jwt_secret="t" * 32,
                        chat_context_secret="shop-secret")
    return create_app(settings, store=store, workers=False)


@pytest.fixture
def tokens(store):
    return {**{name: store.agents.create_agent(name) for name in ("xiaowang", "xiaoli")},
            "laozhang": store.agents.create_agent("laozhang", role="supervisor")}


def call(app, method, path, token=None, payload=None):
    kwargs = {"headers": {"Authorization": f"Bearer {token}"} if token else {}}
    if payload is not None:
        kwargs["data"] = json.dumps(payload)
    _, response = getattr(app.test_client, method)(path, **kwargs)
    return response


# ---- claims ----------------------------------------------------------------------------------
def test_opening_claims_and_only_a_supervisor_takes_over(app, store, tokens):
    case = store.cases.open_case("c1", ANGRY, DRAFTS, "快递一周了还没到")
    draft = store.cases.get_case(case["id"])["drafts"][0]
    assert call(app, "post", f"/api/cases/{case['id']}/claim", tokens["xiaowang"], {}).json["claim"]["claimed_by"] == "xiaowang"
    taken = call(app, "post", f"/api/cases/{case['id']}/claim", tokens["xiaoli"], {})
    assert taken.status == 409 and taken.json["error"] == {"code": "claimed", "message": taken.json["error"]["message"], "claimed_by": "xiaowang"}
    for route, payload in [("approve", {"draft_id": draft["id"]}), ("edit", {"text": DRAFTS[1]["text"]}), ("reject", {"reason": "不合适"}), ("resolve", {})]:
        refused = call(app, "post", f"/api/cases/{case['id']}/{route}", tokens["xiaoli"], payload)
        assert refused.status == 409 and refused.json["error"]["claimed_by"] == "xiaowang", route
    assert store.cases.get_case(case["id"])["decisions"] == []

    # An agent hands a case on (transfer); taking one someone else holds is a supervisor's move.
    grabbed = call(app, "post", f"/api/cases/{case['id']}/claim", tokens["xiaoli"], {"takeover": True})
    assert grabbed.status == 403 and grabbed.json["error"]["code"] == "forbidden"
    assert store.claims.claimed_by(case["id"]) == "xiaowang"
    took = call(app, "post", f"/api/cases/{case['id']}/claim", tokens["laozhang"], {"takeover": True})
    assert took.json["claim"] == {"case_id": case["id"], "claimed_by": "laozhang", "previous": "xiaowang", "changed": True}
    assert call(app, "post", f"/api/cases/{case['id']}/approve", tokens["xiaowang"], {"draft_id": draft["id"]}).status == 409
    assert call(app, "post", f"/api/cases/{case['id']}/approve", tokens["laozhang"], {"draft_id": draft["id"]}).status == 201


def test_release_gives_the_case_back_only_for_its_holder(app, store, tokens):
    case = store.cases.open_case("c1", ANGRY, DRAFTS, "x")
    call(app, "post", f"/api/cases/{case['id']}/claim", tokens["xiaowang"], {})
    assert call(app, "post", f"/api/cases/{case['id']}/release", tokens["xiaoli"], {}).json["released"] is False
    assert call(app, "post", f"/api/cases/{case['id']}/release", tokens["xiaowang"], {}).json["released"] is True
    assert store.claims.claimed_by(case["id"]) is None
    assert call(app, "post", f"/api/cases/{case['id']}/claim", tokens["xiaoli"], {"takeover": "yes"}).status == 400


# ---- concern corrections ---------------------------------------------------------------------
def test_correcting_the_concern_is_stored_and_redrafts(app, store, tokens):
    case = store.cases.open_case("c1", CALM, DRAFTS, "我要退款，东西不想要了")
    response = call(app, "post", f"/api/cases/{case['id']}/concern", tokens["xiaowang"], {"concern": "refund_return"})
    assert response.status == 201
    correction = response.json["correction"]
    assert correction["corrected"] == "refund_return" and correction["detected_concerns"] == ["complaint"]
    assert correction["customer_text"] == "我要退款，东西不想要了" and correction["agent"] == "xiaowang"
    detail = store.cases.get_case(case["id"])
    assert detail["concerns"][0] == "refund_return" and detail["batch"] == 2 and detail["drafts"]
    listed = call(app, "get", "/api/corrections", tokens["xiaowang"]).json["corrections"]
    assert [c["corrected"] for c in listed] == ["refund_return"]
    assert call(app, "post", f"/api/cases/{case['id']}/concern", tokens["xiaowang"], {"concern": "nonsense"}).status == 400


# ---- the live queue --------------------------------------------------------------------------
def test_queue_is_ordered_by_urgency_and_shows_the_wait(store):
    at = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)
    calm = store.cases.open_case("calm", CALM, DRAFTS, "能便宜点吗", at=at)
    angry = store.cases.open_case("angry", ANGRY, DRAFTS, "还不到！", at=at + timedelta(minutes=5))
    store.claims.claim_case(calm["id"], "xiaoli")
    queue = store.queue.open_queue()
    assert [c["conversation_id"] for c in queue] == ["angry", "calm"]
    top = queue[0]
    assert top["last_customer_text"] == "还不到！" and top["concerns"] == ["delivery_delay"] and top["mood"] == "angry"
    assert top["order_id"] == "1234567890" and top["days_late"] == 5 and top["claimed_by"] is None
    assert top["waiting_since"] == "2026-11-24T10:05:00+00:00" and queue[1]["claimed_by"] == "xiaoli"
    assert set(store.queue.snapshot()) == {"now", "cases", "dead_letters"}


def test_waiting_counts_from_the_first_unanswered_message():
    t = [datetime(2026, 1, 1, 10, m, tzinfo=timezone.utc) for m in range(6)]
    thread = [{"sender": "customer", "at": t[0]}, {"sender": "bot", "at": t[1]}, {"sender": "customer", "at": t[2]}]
    assert waiting_since(thread) == t[0].isoformat()  # the holding message is no answer
    thread += [{"sender": "agent", "at": t[3]}]
    assert waiting_since(thread) is None
    thread += [{"sender": "customer", "at": t[4]}, {"sender": "customer", "at": t[5]}]
    assert waiting_since(thread) == t[4].isoformat()


def test_every_change_an_agent_sees_changes_the_fingerprint(store):
    marks = [store.queue.fingerprint()]
    case = store.cases.open_case("c1", ANGRY, DRAFTS, "x")
    marks.append(store.queue.fingerprint())
    store.claims.claim_case(case["id"], "a")
    marks.append(store.queue.fingerprint())
    store.cases.add_message(case["id"], "customer", "人呢")
    marks.append(store.queue.fingerprint())
    store.learning.correct_concern(case["id"], "a", "refund_return")
    marks.append(store.queue.fingerprint())
    decision = store.decisions.decide(case["id"], "a", "approve", draft_id=store.cases.get_case(case["id"])["drafts"][0]["id"], resolve=True)
    marks.append(store.queue.fingerprint())
    store.outbox.mark_delivered(store.outbox.due()[0]["id"])
    marks.append(store.queue.fingerprint())
    store.customers.rate_case("c1", case["id"], 5)
    marks.append(store.queue.fingerprint())
    assert decision and len(set(marks)) == len(marks)


async def test_the_watcher_publishes_each_change_to_every_subscriber(store):
    watcher = QueueWatcher(store.queue, interval=0.02)
    first, second = watcher.subscribe(), watcher.subscribe()
    task = asyncio.ensure_future(watcher.run())
    try:
        assert (await asyncio.wait_for(first.get(), 2))["cases"] == []
        await asyncio.wait_for(second.get(), 2)
        await asyncio.to_thread(store.cases.open_case, "c1", ANGRY, DRAFTS, "还不到！")
        update = await asyncio.wait_for(first.get(), 2)
        assert [c["last_customer_text"] for c in update["cases"]] == ["还不到！"]
        assert (await asyncio.wait_for(second.get(), 2))["cases"]
    finally:
        watcher.closing.set()
        await asyncio.wait_for(task, 2)


async def test_the_watcher_reads_nothing_while_no_console_is_open(store):
    """An idle console process costs no store reads for the live queue; the first browser to open
    the console gets the queue as it is, and changes from then on."""
    reads = []

    class CountedQueue:
        def fingerprint(self):
            reads.append(1)
            return store.queue.fingerprint()

        def snapshot(self):
            return store.queue.snapshot()

    watcher = QueueWatcher(CountedQueue(), interval=0.01)
    task = asyncio.ensure_future(watcher.run())
    try:
        await asyncio.sleep(0.1)
        assert reads == []
        inbox = watcher.subscribe()
        assert (await asyncio.wait_for(inbox.get(), 2))["cases"] == []
        await asyncio.to_thread(store.cases.open_case, "c1", ANGRY, DRAFTS, "还不到！")
        assert [c["last_customer_text"] for c in (await asyncio.wait_for(inbox.get(), 2))["cases"]] == ["还不到！"]
        watcher.unsubscribe(inbox)
        await asyncio.sleep(0.05)
        seen = len(reads)
        await asyncio.sleep(0.1)
        assert len(reads) == seen
    finally:
        watcher.closing.set()
        await asyncio.wait_for(task, 2)


async def test_the_follower_wakes_the_outbox_only_when_it_handled_something():
    """Woken 20 times a second for nothing, the outbox would read the store as often (its own
    pace is KEFU_OUTBOX_POLL_SECONDS)."""
    from types import SimpleNamespace

    from console.workers.loops import follower_worker

    batches, wakes = [0, 0, 2, 0, 0, 0, 1, 0], []

    class Follower:
        def poll(self):
            return batches.pop(0) if batches else 0

    app = SimpleNamespace(ctx=SimpleNamespace(follower=Follower(), wake_outbox=lambda: wakes.append(len(batches)), pulse=None,
                                              settings=SimpleNamespace(poll_seconds=0.005, worker_backoff_max_seconds=0.1)))
    task = asyncio.ensure_future(follower_worker(app))
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert batches == [] and len(wakes) == 2



async def test_a_follower_woken_by_rasa_s_events_reads_on_a_wake_up_or_when_something_is_due():
    """While the wake-up listens, no read happens on a timer but the fallback's; a wake-up, a due
    retry or settle, or the wake-up's loss brings the next one."""
    from types import SimpleNamespace

    from console.workers.loops import follower_worker

    reads, due = [], [None]

    class Follower:
        def poll(self):
            reads.append(1)
            return 0

        def next_due(self):
            return due[0]

    wake = SimpleNamespace(listening=True, wake=asyncio.Event())
    app = SimpleNamespace(ctx=SimpleNamespace(follower=Follower(), wake_outbox=lambda: None, pulse=None, settings=SimpleNamespace(
        poll_seconds=0.005, follower_fallback_seconds=30.0, worker_backoff_max_seconds=0.1)))
    task = asyncio.ensure_future(follower_worker(app, wake))
    try:
        await asyncio.sleep(0.2)
        assert len(reads) == 1  # the first read, then nothing new: it waits
        wake.wake.set()
        await asyncio.sleep(0.2)
        assert len(reads) == 2
        due[0] = 0.0  # a turn to settle, a retry: read again soon without a wake-up
        wake.wake.set()
        await asyncio.sleep(0.2)
        assert len(reads) > 5
        due[0], wake.listening = None, False  # the connection lost: polling every KEFU_POLL_SECONDS
        await asyncio.sleep(0.2)
        before = len(reads)
        await asyncio.sleep(0.2)
        assert len(reads) - before > 5
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

# ---- search, history, figures ----------------------------------------------------------------
def test_search_matches_chinese_by_substring_order_numbers_and_agents(app, store, tokens):
    refund = store.cases.open_case("c1", CALM, DRAFTS, "我要退款了")
    late = store.cases.open_case("c2", ANGRY, DRAFTS, "快递一周了还没到")
    store.cases.open_case("c3", CALM, DRAFTS, "100% 满意_吗")
    store.decisions.decide(late["id"], "xiaoli", "approve", draft_id=store.cases.get_case(late["id"])["drafts"][0]["id"])

    def ids(q):
        return [c["id"] for c in call(app, "get", f"/api/search?q={q}", tokens["xiaowang"]).json["cases"]]

    assert ids("退款") == [refund["id"]]
    assert call(app, "get", "/api/search?q=退款", tokens["xiaowang"]).json["cases"][0]["match"]["text"] == "我要退款了"
    assert ids("1234567890") == [late["id"]] and ids("12345") == [late["id"]]
    assert ids("xiaoli") == [late["id"]]
    assert ids("催件") == [late["id"]]  # the agent's own words are searchable too
    assert ids("%") == [store.records.search_cases("100%", search_form)[0]["id"]] and ids("_") == ids("%")  # wildcards are literal
    assert call(app, "get", "/api/search?q=", tokens["xiaowang"]).status == 400
    assert call(app, "get", "/api/search?q=" + "长" * 101, tokens["xiaowang"]).status == 400


def test_history_lists_closed_cases_with_their_decisions(app, store, tokens):
    case = store.cases.open_case("c1", ANGRY, DRAFTS, "快递一周了还没到")
    store.decisions.decide(case["id"], "xiaowang", "reject", reason="语气不对")
    store.cases.redraft(case["id"], ANGRY, DRAFTS)
    store.decisions.decide(case["id"], "xiaowang", "approve", draft_id=store.cases.get_case(case["id"])["drafts"][1]["id"], resolve=True)
    store.cases.open_case("c2", CALM, DRAFTS, "still open")
    listed = call(app, "get", "/api/history", tokens["xiaowang"]).json["cases"]
    assert [c["id"] for c in listed] == [case["id"]]
    assert [d["action"] for d in listed[0]["decisions"]] == ["reject", "approve"]
    assert listed[0]["first_customer_text"] == "快递一周了还没到" and store.records.closed_cases(offset=1) == []


def test_figures_acceptance_time_to_decide_and_first_response(app, store, tokens):
    cases = [store.cases.open_case(f"c{i}", ANGRY if i % 2 else CALM, DRAFTS, "x") for i in range(4)]
    drafts = [store.cases.get_case(c["id"])["drafts"] for c in cases]
    store.decisions.decide(cases[0]["id"], "xiaowang", "approve", draft_id=drafts[0][0]["id"])
    store.decisions.decide(cases[1]["id"], "xiaowang", "edit", draft_id=drafts[1][1]["id"], text=DRAFTS[1]["text"] + "谢谢")
    store.decisions.decide(cases[2]["id"], "xiaoli", "reject", reason="不对")
    store.decisions.decide(cases[3]["id"], "xiaoli", "approve", draft_id=drafts[3][1]["id"])
    result = call(app, "get", "/api/figures?days=7", tokens["laozhang"]).json
    assert result["decisions"] == 4
    by_concern = {r["concern"]: r for r in result["acceptance"]["by_concern"]}
    assert by_concern["complaint"]["approve"] == 1 and by_concern["complaint"]["reject"] == 1 and by_concern["complaint"]["rejected"] == 0.5
    assert by_concern["delivery_delay"]["approve"] == 1 and by_concern["delivery_delay"]["edit"] == 1
    by_template = {r["template"]: r for r in result["acceptance"]["by_template"]}
    assert by_template["delivery_delay.a"]["total"] == 2 and by_template["delivery_delay.a"]["reject"] == 1  # a reject counts against rank 1
    assert by_template["delivery_delay.b"]["total"] == 2
    assert result["decide_seconds"]["median"] is not None
    agents = {r["agent"]: r for r in result["first_response"]["by_agent"]}
    assert agents["xiaowang"]["cases"] == 2 and agents["xiaoli"]["cases"] == 1 and agents["xiaoli"]["within_3_min"] == 1.0
    assert {r["concern"] for r in result["first_response"]["by_concern"]} == {"complaint", "delivery_delay"}
    assert call(app, "get", "/api/figures?days=abc", tokens["laozhang"]).status == 400
    assert store.figures.figures(days=1, now=datetime.now(timezone.utc) + timedelta(days=3))["decisions"] == 0


def test_search_finds_traditional_and_simplified_alike(app, store, tokens):
    """Customers type both: the query and every message are folded to one form (OpenCC t2s)."""
    traditional = store.cases.open_case("c1", ANGRY, DRAFTS, "你們這什麼破快遞，一個禮拜了還不到！")
    simplified = store.cases.open_case("c2", ANGRY, DRAFTS, "这破快递到底送不送")
    store.cases.open_case("c3", CALM, DRAFTS, "快递挺快的，谢谢")

    def found(q):
        return {c["id"]: c["match"]["text"] for c in call(app, "get", f"/api/search?q={q}", tokens["xiaowang"]).json["cases"]}

    both = {traditional["id"]: "你們這什麼破快遞，一個禮拜了還不到！", simplified["id"]: "这破快递到底送不送"}
    assert found("破快递") == both and found("破快遞") == both  # the match is shown as the customer typed it
    assert found("ＤＨＬ") == {} and list(found("禮拜")) == [traditional["id"]] == list(found("礼拜"))


def test_figures_count_each_decision_under_the_concern_its_drafts_were_for(app, store, tokens):
    """As `python -m assist acceptance` counts them: a case corrected from complaint to refund keeps
    the decisions made before the correction under complaint."""
    case = store.cases.open_case("c1", dict(CALM, topic="complaint"), DRAFTS, "东西坏了")
    store.decisions.decide(case["id"], "xiaowang", "reject", reason="不对")
    store.learning.correct_concern(case["id"], "xiaowang", "refund_return")
    refund = dict(CALM, intent="refund_return", concerns=["refund_return"], topic="refund_return")
    store.cases.redraft(case["id"], refund, DRAFTS)
    store.decisions.decide(case["id"], "xiaowang", "approve", draft_id=store.cases.get_case(case["id"])["drafts"][0]["id"])
    assert store.cases.get_case(case["id"])["concerns"][0] == "refund_return"
    result = call(app, "get", "/api/figures", tokens["laozhang"]).json
    by_concern = {r["concern"]: (r["approve"], r["edit"], r["reject"]) for r in result["acceptance"]["by_concern"]}
    assert by_concern == {"complaint": (0, 0, 1), "refund_return": (1, 0, 0)}
    assert [(r["concern"], r["cases"]) for r in result["first_response"]["by_concern"]] == [("refund_return", 1)]
    from assist.builders.learning_report import render

    report = render(store.learning.learning_records())
    concerns = report.split("### By concern")[1].split("###")[0]
    assert "| complaint | 1 |" in concerns and "| refund_return | 1 |" in concerns  # the same split as the figures


def test_percentile():
    assert percentile([], 0.5) is None and percentile([3, 1, 2], 0.5) == 2 and percentile([0, 10], 0.95) == 9.5


# ---- one-click fixes -------------------------------------------------------------------------
def test_check_offers_one_click_fixes(app, tokens):
    text = "非常抱歉，这是公司规定，您看可以吗？"
    findings = call(app, "post", "/api/check", tokens["xiaowang"], {"text": text}).json["findings"]
    shield = next(f for f in findings if f["rule"] == "rule.shield")
    assert shield["severity"] == "block"
    assert "规定" not in shield["apply"] and shield["apply"].endswith("您看可以吗？")
    # the fix leaves the reason to the agent: a marked gap, itself a block finding until filled
    gap = call(app, "post", "/api/check", tokens["xiaowang"], {"text": shield["apply"]}).json["findings"]
    assert [(f["rule"], f["severity"], f["apply"]) for f in gap] == [("gap.unfilled", "block", None)]
    filled = shield["apply"].replace("【请填写原因】", "拆封后会影响二次销售")
    assert call(app, "post", "/api/check", tokens["xiaowang"], {"text": filled}).json["findings"] == []
    fixes = {f["rule"]: f["apply"] for f in call(app, "post", "/api/check", tokens["xiaowang"], {"text": "你好，我保证明天到"}).json["findings"]}
    assert fixes["address.nin"].startswith("您好") and "会尽量明天到" in fixes["promise.over"] and fixes["close.polite"].endswith("？")


# ---- the web chat's public API ---------------------------------------------------------------
def test_chat_status_tells_who_answers_and_asks_for_one_rating(app, store, tokens):
    session = str(uuid.uuid4())
    assert call(app, "get", f"/chat/api/sessions/{session}").json == {"answering": "bot", "case": None, "person_texts": [], "rate": None}
    case = store.cases.open_case(session, ANGRY, DRAFTS, "还不到！", channel="socketio")
    status = call(app, "get", f"/chat/api/sessions/{session}").json
    assert status["answering"] == "person" and status["case"]["person_joined"] is False and status["rate"] is None
    store.claims.claim_case(case["id"], "xiaowang")
    assert call(app, "get", f"/chat/api/sessions/{session}").json["case"]["person_joined"] is True
    assert call(app, "post", f"/chat/api/sessions/{session}/rating", payload={"case_id": case["id"], "score": 5}).status == 409  # still open

    store.decisions.decide(case["id"], "xiaowang", "approve", draft_id=store.cases.get_case(case["id"])["drafts"][1]["id"], resolve=True)
    status = call(app, "get", f"/chat/api/sessions/{session}").json
    assert status["answering"] == "bot" and status["person_texts"] == [DRAFTS[1]["text"]] and status["rate"] == {"case_id": case["id"]}
    for bad in ({"case_id": case["id"], "score": 6}, {"case_id": case["id"], "score": True}, {"score": 3}):
        assert call(app, "post", f"/chat/api/sessions/{session}/rating", payload=bad).status == 400
    other = str(uuid.uuid4())
    assert call(app, "post", f"/chat/api/sessions/{other}/rating", payload={"case_id": case["id"], "score": 5}).status == 404
    assert call(app, "post", f"/chat/api/sessions/{session}/rating", payload={"case_id": case["id"], "score": 4}).status == 201
    assert call(app, "post", f"/chat/api/sessions/{session}/rating", payload={"case_id": case["id"], "score": 1}).status == 409
    assert store.cases.get_case(case["id"])["rating"] == 4
    assert call(app, "get", f"/chat/api/sessions/{session}").json["rate"] is None


@pytest.mark.parametrize("session", ["1234567890", "user-13800138000", str(uuid.uuid1()), "../etc"])
def test_chat_api_serves_only_uuid4_sessions(app, session):
    assert call(app, "get", f"/chat/api/sessions/{session}").status == 404


def test_shop_context_must_be_signed_when_a_secret_is_set(app, store, tokens):
    session = str(uuid.uuid4())
    context = {"order_id": "1234567890", "customer_id": "c-42"}
    unsigned = call(app, "post", f"/chat/api/sessions/{session}/context", payload=context)
    assert unsigned.status == 403 and unsigned.json["error"]["code"] == "bad_signature"
    sig = hmac.new(b"shop-secret", b"1234567890|c-42", hashlib.sha256).hexdigest()
    signed = call(app, "post", f"/chat/api/sessions/{session}/context", payload={**context, "sig": sig})
    assert signed.status == 200 and signed.json["verified"] is True
    assert call(app, "post", f"/chat/api/sessions/{session}/context", payload={"order_id": "<script>"}).status == 400
    case = store.cases.open_case(session, ANGRY, DRAFTS, "还不到！", channel="socketio")
    shown = call(app, "get", f"/api/cases/{case['id']}", tokens["xiaowang"]).json["shop_context"]
    assert shown["context"] == context and shown["verified"] is True


def test_chat_history_comes_from_rasa_with_people_marked(app):
    from console.routes.chat import transcript

    events = [
        {"event": "action", "name": "action_listen", "timestamp": 100.0},
        {"event": "user", "text": "<img src=x onerror=alert(1)>", "timestamp": 101.0},
        {"event": "bot", "text": "您好，马上为您转接", "metadata": {}, "timestamp": 101.25},
        {"event": "bot", "text": "我是客服小王", "metadata": {"kefu_delivery": "d1", "kefu_sender": "agent"}, "timestamp": 150.5},
        # The same delivery stored twice (its first answer was lost, the outbox sent it again): shown once.
        {"event": "bot", "text": "我是客服小王", "metadata": {"kefu_delivery": "d1", "kefu_sender": "agent"}, "timestamp": 156.0},
        {"event": "bot", "text": "", "metadata": {"kefu_sender": "bot"}, "timestamp": 157.0},
    ]
    assert transcript(events) == [
        {"sender": "customer", "text": "<img src=x onerror=alert(1)>", "id": "u101.000000", "timestamp": 101.0},
        {"sender": "bot", "text": "您好，马上为您转接", "id": "t101.250000", "timestamp": 101.25},
        {"sender": "agent", "text": "我是客服小王", "id": "d1", "timestamp": 150.5},
    ]
    # What a page that last showed the bot's message at 101.25 missed:
    assert [m["id"] for m in transcript(events, since=101.25)] == ["d1"]
    # Rasa is not running in this test: an honest 503, not a crash.
    response = call(app, "get", f"/chat/api/sessions/{uuid.uuid4()}/history")
    assert response.status == 503 and response.json["error"]["code"] == "rasa_unavailable"
