"""bench/replay.py and bench/replay_checks.py: the detectors and the figures on turns written here
(never the eval data's text). The replay of real dialogues through the running stack is in
tests/integration/test_replay_stack.py."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checks = _load("replay_checks")
replay = _load("replay")


@pytest.mark.parametrize("text, facts", [
    ("麻烦您提供一下订单号", {"order_id"}),
    ("麻烦发一下订单号，我马上帮您查。", {"order_id"}),
    ("您方便把订单号发我吗？我好去催一下。", {"order_id"}),
    ("请留一下您的手机号和收货地址", {"phone", "address"}),
    ("运单号是多少？", {"waybill"}),
    ("您说的是哪个订单呢？", {"order_id"}),
    ("您看中的是哪一款呢？我帮您问问有没有券。", {"product"}),
    ("请问您买的是哪件？", {"product"}),
    # statements, not asks
    ("订单 2023110188 已由顺丰发出，运单号 SF1400223344556，预计明天送达。", set()),
    ("您提供的订单号我已经记下了", set()),
    ("我已经收到您的订单号了，正在核实", set()),
    ("您的订单号是[订单x]吗？", set()),
    ("您的包裹到哪了我马上查", set()),
    ("非常抱歉让您久等了，我这就去催快递。", set()),
    ("", set()),
])
def test_asks_for(text, facts):
    assert checks.asks_for(text) == facts


@pytest.mark.parametrize("texts, facts", [
    (["我的订单1234567890到哪了"], {"order_id"}),
    (["单号是[订单x]"], {"order_id"}),
    (["订单是[数字x]"], {"order_id"}),
    (["电话13812345678"], {"phone"}),
    (["运单号：YT12345678901"], {"waybill"}),
    (["快递单号 432112345678"], {"waybill"}),
    (["寄到[地址x]"], {"address"}),
    (["地址是杭州市西湖区文三路100号"], {"address"}),
    (["我买了3罐茶叶能便宜吗"], {"product"}),
    (["耳机坏了"], {"product"}),
    (["你好", "在吗", "还要等12345吗"], set()),  # 5 digits are no order number
    (["你好", "订单9876543210"], {"order_id"}),
    (["昨天[数字x]点下的单", "等了[数字x]天了"], set()),  # a number mask before a unit is a time or a span
    (["这已经是第三个了", "买了两份也不够"], set()),  # a count without the goods named
])
def test_given(texts, facts):
    assert checks.given(texts, products=["耳机"]) == facts


def test_masks_count_as_given_unless_asked_not_to():
    assert checks.given(["[订单x]", "寄到[地址x]"]) == {"order_id", "address"}
    assert checks.given(["[订单x]", "寄到[地址x]", "订单1234567890"], masks=False) == {"order_id"}
    assert checks.given(["[订单x]"], masks=False) == set()


def test_repeated_asks_need_the_fact_given_before():
    assert checks.repeated_asks("麻烦您发一下订单号", ["快递还没到", "订单号1234567890"]) == ["order_id"]
    assert checks.repeated_asks("麻烦您发一下订单号", ["快递还没到"]) == []
    assert checks.repeated_asks("麻烦留一下电话", ["[订单x]"]) == []


def test_ngram_overlap():
    assert checks.ngram_f1("您好，马上帮您查", "您好，马上帮您查！") == 1.0
    assert checks.ngram_f1("快递到了", "退款多久") == 0.0
    assert 0 < checks.ngram_f1("我马上帮您查一下快递", "我帮您查一下") < 1
    assert checks.ngram_f1("亲亲[订单x]已经发货", "已经发货") == checks.ngram_f1("亲亲已经发货", "已经发货")
    assert checks.ngram_f1("", "x") == 0.0


def test_agent_runs_and_event_parse():
    turns = [{"role": "customer"}, {"role": "agent", "text": "a"}, {"role": "agent", "text": "b"}, {"role": "customer"}]
    assert [t["text"] for t in checks.agent_run(turns, 1)] == ["a", "b"]
    assert checks.agent_run(turns, 3) == []
    assert checks.event_parse({"parse_data": {"intent": {"name": "greet", "confidence": 0.9}}}) == {"intent": "greet", "confidence": 0.9}
    assert checks.event_parse(None) == {"intent": None, "confidence": None}


def _turn(dialogue, text, case=None, bot=(), pushed=(), labels=(), drafts=(), agent_next="", nlu=None, given=(), readable=()):
    reading = dict(case, id=f"case-{dialogue}") if case else None
    drafts = [{"rank": r, "text": t} for r, t in enumerate(drafts, 1)]
    flags = {"processed": "ok",
             "drafts_repeat": [{"rank": d["rank"], "repeated": sorted(checks.asks_for(d["text"]) & set(given)),
                                "readable": sorted(checks.asks_for(d["text"]) & set(readable))} for d in drafts],
             "bot_repeat": sorted(checks.asks_for(" ".join(bot)) & set(given)),
             "bot_repeat_readable": sorted(checks.asks_for(" ".join(bot)) & set(readable))}
    return {"dialogue": dialogue, "role": "customer", "text": text, "bot": list(bot), "pushed": list(pushed),
            "case_open": case is not None, "reading": reading, "drafts": drafts, "agent_next": agent_next,
            "heldout_labels": [{"intent": label} for label in labels], "nlu": {"intent": nlu}, "flags": flags}


SYNTHETIC = [
    # d1: greeting answered, then a late parcel handed over; the drafts ask again for the order number
    _turn("d1", "你好", bot=["您好"], nlu="greet", labels=["greet"]),
    _turn("d1", "订单1234567890五天了还没到", case={"concerns": ["delivery_delay"], "mood": "anxious"}, bot=["已为您转人工"],
          labels=["delivery_delay"], drafts=["麻烦您发一下订单号", "非常抱歉，我马上去催"], agent_next="好的马上催",
          given=["order_id"], readable=["order_id"]),
    {"dialogue": "d1", "role": "agent", "text": "好的马上催", "sent": "delivered"},
    _turn("d1", "快点", case={"concerns": ["delivery_delay", "complaint"], "mood": "angry"}, labels=["complaint"],
          drafts=["抱歉让您久等了"], given=["order_id"]),
    # d2: the bot says nothing and nobody owns it (silent); then asks for a number just given
    _turn("d2", "这个能便宜点吗", nlu="product_inquiry", labels=["price_haggle"]),
    _turn("d2", "我的手机13812345678", bot=["请留一下您的手机号"], given=["phone"]),
    {"dialogue": "d2", "role": "agent", "text": "skipped", "sent": None},
    # d3: an angry customer, a case with mood angry; a cancel reply pushed after the case closed
    _turn("d3", "气死了", case={"concerns": ["complaint"], "mood": "angry"}, labels=["angry_abusive"], drafts=["抱歉"]),
    _turn("d3", "算了不用了", pushed=[{"kind": "system", "text": "好的"}]),
]
DIALOGUES = [{"id": "d1", "intents_present": ["delivery_delay"]}, {"id": "d2", "intents_present": ["price_haggle"]},
             {"id": "d3", "intents_present": ["angry_abusive"]}, {"id": "d4", "intents_present": ["order_status"]}]


def test_silent_turns():
    assert [checks.is_silent(t) for t in SYNTHETIC if t["role"] == "customer"] == [False, False, False, True, False, False, False]


def test_figures_on_synthetic_turns():
    f = checks.figures(SYNTHETIC, DIALOGUES, seconds=12.5)
    assert (f["dialogues"], f["customer_turns"], f["bot_turns"], f["handed_turns"], f["cases"]) == (4, 7, 4, 3, 2)
    assert f["silent"] == 1 and f["unprocessed"] == 0 and f["agent_sends"] == 1 and f["closed"] == 1
    assert (f["repeat_any"], f["repeat_top"], f["repeat_bot"], f["bot_said"]) == (1, 1, 1, 4)
    assert (f["repeat_any_readable"], f["repeat_bot_readable"]) == (1, 0)
    assert f["repeat_facts"] == {"order_id": 1}
    assert (f["need"], f["need_case"], f["angry"], f["angry_case"], f["no_need"], f["no_need_case"]) == (2, 1, 1, 1, 1, 0)
    # labels: greet (no case, NLU right), delivery_delay (primary), complaint (held, not primary), price_haggle (no case, NLU wrong)
    assert (f["labels"], f["labels_case"], f["labels_held"], f["labels_primary"]) == (4, 2, 2, 1)
    assert (f["labels_no_case"], f["labels_no_case_nlu"], f["mood_labels"], f["mood_held"]) == (2, 1, 1, 1)
    assert f["f1_n"] == 1 and f["f1_best"] >= f["f1_top"]


def test_tables_hold_figures_only():
    lines = checks.tables(checks.figures(SYNTHETIC, DIALOGUES, seconds=12.5))
    text = "\n".join(lines)
    assert "| silent turns (no bot reply, no case open) | 1 |" in text
    assert "| 4 | 7 | 4 (57%) | 3 (43%) | 2 | 1 (failed: 0) |" in text
    for turn in SYNTHETIC:
        for said in [turn["text"]] + [d["text"] for d in turn.get("drafts", [])]:
            assert said not in text


def test_only_the_stack_mode_exists(capsys, tmp_path):
    assert replay.main(["--no-stack"]) == 2
    assert replay.main(["--dialogues", str(tmp_path / "absent.jsonl")]) == 0
    assert "replay skipped" in capsys.readouterr().out


class FakeResponse:
    def __init__(self, status, body):
        self.status_code, self.body, self.headers = status, body, {"content-type": "application/json"}

    def json(self):
        return self.body


class FakeStack:
    """What bench/replay.py asks of the running stack, scripted: no servers."""

    def __init__(self, events=(), position=0, case=None, edits=()):
        self.events, self.position, self.detail, self.edits, self.posted = list(events), position, case, list(edits), []

    def user_events(self, sender):
        return self.events

    def follower_position(self):
        return self.position

    def open_case(self, sender):
        return {"id": self.detail["id"]} if self.detail and self.detail.get("open", True) else None

    def case(self, case_id):
        return self.detail

    def api(self, method, path, payload=None):
        self.posted.append(payload)
        return self.edits.pop(0)


def _case(batch, keys, deliveries=()):
    return {"id": "c1", "batch": batch, "drafts": [{"rank": 1, "text": "x"}] if batch else [],
            "messages": [{"sender": "customer", "text": "t", "source_key": k} for k in keys], "deliveries": list(deliveries)}


def test_a_turn_counts_as_processed_once_the_follower_passed_it():
    event = (5, {"event": "user", "message_id": "m2"})
    none = replay.wait_processed(FakeStack([(1, {}), event], position=5), "s", 2, "t", None, timeout=1)
    assert (none["status"], none["case"]) == ("ok", None)
    joined = replay.wait_processed(FakeStack([(1, {}), event], 5, _case(3, ["msg:m1", "msg:m2"])), "s", 2, "t", {"id": "c1", "batch": 2}, 1)
    assert joined["status"] == "ok" and joined["case"]["batch"] == 3
    behind = replay.wait_processed(FakeStack([(1, {}), event], position=4), "s", 2, "t", None, timeout=0.2)
    assert behind["status"] == "follower_timeout"


def test_a_case_without_drafts_for_the_message_is_flagged(monkeypatch):
    monkeypatch.setattr(replay, "SETTLE_TIMEOUT", 0.2)
    event = (5, {"event": "user", "message_id": "m2"})
    stale = replay.wait_processed(FakeStack([(1, {}), event], 5, _case(2, ["msg:m1", "msg:m2"])), "s", 2, "t", {"id": "c1", "batch": 2}, 1)
    assert stale["status"] == "case_without_drafts_for_it" and stale["case"]["batch"] == 2


def test_the_agent_send_retries_once_on_409_with_the_reloaded_batch():
    delivered = _case(3, [], [{"decision_id": 7, "state": "delivered"}])
    fake = FakeStack(case=delivered, edits=[FakeResponse(409, {"error": {"code": "already_handled"}}),
                                            FakeResponse(201, {"decision": {"id": 7}})])
    assert replay.send_as_agent(fake, "s", "c1", "好的" * 600, 2, limit=1000) == "delivered"
    assert [p["batch"] for p in fake.posted] == [2, 3] and len(fake.posted[0]["text"]) == 1000
    assert all(p["override"] for p in fake.posted)
    closed = FakeStack(case=dict(delivered, open=False), edits=[FakeResponse(409, {"error": {"code": "wrong_state"}})])
    assert replay.send_as_agent(closed, "s", "c1", "好的", 2, limit=1000) == "case closed"
