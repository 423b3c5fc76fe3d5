"""Customers' data (PIPL, issue 16): logs carry no phone, address or name; `python -m console purge`
deletes what is older than KEFU_RETENTION_DAYS and `erase` one customer's data, in the suggestion
store and in Rasa's own tracker store and event stream (written here by Rasa's own classes)."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from assist.logs import configure, log_event, without_personal_data
from assist.settings import load_settings
from assist.store import NotFound, SuggestionStore
from assist.store.db import now as utc_now
from console.__main__ import main as console_main

PHONE, ADDRESS, NAME = "13812345678", "北京市朝阳区建国路88号", "张伟"
DAY = 86400
SITUATION = {"intent": "complaint", "concerns": ["complaint"], "mood": "angry"}
DRAFTS = [{"text": "非常抱歉给您添麻烦了，我马上帮您核实，您看可以吗？", "score": 0.9, "reason": "r", "variant_id": "v1"}]


# ---- logs ---------------------------------------------------------------------------------------
def test_a_logged_line_carries_no_phone_address_or_name_but_keeps_its_ids(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        path = configure("console", settings, terminal=False)
        case = "4807117d-1234-4a5b-8c9d-123456789012"
        log_event(logging.getLogger("kefu.cases"), "case_opened", case, PHONE, by="action")
        logging.getLogger("kefu.test").warning("customer wrote: 我叫%s，电话%s，地址是%s", NAME, PHONE, ADDRESS)
        for handler in root.handlers:
            handler.flush()
        text = path.read_text(encoding="utf-8")
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()
    assert PHONE not in text and ADDRESS not in text and NAME not in text
    assert f"case_opened case={case} conversation=<手机号> by=action" in text
    assert "我叫<姓名>，电话<手机号>，地址是<地址>" in text


def test_masking_keeps_uuids_and_hex_keys_whole():
    key = "0123456789abcdef0123456789abcdef"
    line = f"delivered case=12345678-1234-4234-8234-123456789012 key={key} order 2023110188"
    assert without_personal_data(line) == f"delivered case=12345678-1234-4234-8234-123456789012 key={key} order <订单号>"


# ---- retention and erasure ----------------------------------------------------------------------
def rasa_conversation(tracker_db, broker_db, sender: str, texts, at: float) -> None:
    """A conversation as Rasa writes it: its SQL tracker store and its SQL event broker."""
    from rasa.core.brokers.sql import SQLEventBroker
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = [UserUttered(text, timestamp=at + n) for n, text in enumerate(texts)]
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tracker_db))
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    broker = SQLEventBroker(dialect="sqlite", db=str(broker_db))
    for event in events:
        broker.publish(dict(event.as_dict(), sender_id=sender))
    store.engine.dispose()
    broker.engine.dispose()


def senders(db_path):
    engine = sa.create_engine(f"sqlite:///{db_path}")
    with engine.connect() as db:
        found = sorted(set(db.execute(sa.text("SELECT sender_id FROM events")).scalars()))
    engine.dispose()
    return found


@pytest.fixture
def kept(tmp_path, monkeypatch):
    """Three customers: one gone quiet 200 days ago, one 200 days ago with a case still open, one today."""
    data = tmp_path / "data"
    monkeypatch.setenv("KEFU_DATA_DIR", str(data))
    monkeypatch.setenv("KEFU_RETENTION_DAYS", "180")
    store = SuggestionStore.migrated(f"sqlite:///{data / 'suggestions.db'}")
    tracker, broker = data / "tracker.db", data / "events.db"
    old, now = time.time() - 200 * DAY, time.time()
    rasa_conversation(tracker, broker, "old-customer", [f"我的电话{PHONE}", f"地址是{ADDRESS}"], old)
    rasa_conversation(tracker, broker, "old-but-open", ["人呢"], old)
    rasa_conversation(tracker, broker, "new-customer", ["你好"], now)
    from assist.store.db import now as utc_now

    cases = {}
    for conversation in ("old-customer", "old-but-open", "new-customer"):
        long_ago = conversation != "new-customer"
        at = utc_now() - timedelta(days=200 if long_ago else 0)
        cases[conversation] = store.cases.open_case(conversation, SITUATION, DRAFTS, f"我的电话{PHONE}", channel="rest", at=at)["id"]
        store.customers.set_chat_context(conversation, {"order_id": "2023110188"})
    with store.engine.begin() as db:  # the old customer's case was resolved 200 days ago
        db.execute(sa.text("UPDATE kefu_cases SET state='resolved', resolved_at=opened_at WHERE conversation_id='old-customer'"))
        db.execute(sa.text("UPDATE kefu_cases SET state='resolved', resolved_at=opened_at WHERE conversation_id='new-customer'"))
    return store, tracker, broker, cases


def run_console(capsys, *argv):
    code = console_main(list(argv))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


def test_purge_deletes_what_is_older_than_the_retention_and_keeps_open_cases(kept, capsys):
    store, tracker, broker, cases = kept
    code, dry = run_console(capsys, "purge", "--dry-run")
    assert code == 0 and dry["conversations"] == 1 and dry["cases"] == 1 and dry["kept_open_cases"] == 1
    assert senders(tracker) == ["new-customer", "old-but-open", "old-customer"]  # a dry run deletes nothing

    code, report = run_console(capsys, "purge")
    assert code == 0 and report["rows"]["tracker store"] == 2 and report["rows"]["event stream"] == 2
    assert report["rows"]["kefu_cases"] == 1 and report["rows"]["kefu_messages"] >= 1
    assert senders(tracker) == senders(broker) == ["new-customer", "old-but-open"]
    with pytest.raises(NotFound):
        store.cases.get_case(cases["old-customer"])
    assert store.cases.get_case(cases["old-but-open"])["state"] == "open"  # a person still owes an answer
    assert store.cases.get_case(cases["new-customer"])["state"] == "resolved"
    assert store.customers.chat_context("old-customer") is None and store.customers.chat_context("old-but-open")
    # Nothing of the old customer is findable any more.
    code, found = run_console(capsys, "erase", "--containing", ADDRESS)
    assert found["conversations"] == []


def test_erase_finds_a_customer_by_phone_and_deletes_everything_of_theirs(kept, capsys):
    store, tracker, broker, cases = kept
    code, found = run_console(capsys, "erase", "--containing", PHONE)
    assert code == 0 and found["conversations"] == ["new-customer", "old-but-open", "old-customer"]  # each case holds it
    code, found = run_console(capsys, "erase", "--containing", ADDRESS)  # Chinese, \\u-escaped in Rasa's JSON
    assert found["conversations"] == ["old-customer"]
    assert senders(tracker) == ["new-customer", "old-but-open", "old-customer"]  # listing erases nothing

    store.callback_posts.keep("old-but-open", {"recipient_id": "old-but-open", "text": "您好，已为您转接人工客服"},
                              utc_now(), "TimeoutError()")  # a bot message the callback client has not taken yet
    code, report = run_console(capsys, "erase", "old-but-open")
    assert code == 0 and report["cases"] == 1 and report["rows"]["kefu_cases"] == 1
    assert report["rows"]["tracker store"] == 1 and report["rows"]["event stream"] == 1
    assert report["rows"]["kefu_chat_contexts"] == 1 and report["rows"]["kefu_callback_posts"] == 1
    assert store.callback_posts.pending() == 0
    assert "old-but-open" not in senders(tracker) and "old-but-open" not in senders(broker)
    assert store.customers.chat_context("old-but-open") is None
    with pytest.raises(NotFound):
        store.cases.get_case(cases["old-but-open"])
    assert store.cases.get_case(cases["new-customer"])  # nobody else's

    code, report = run_console(capsys, "erase", "--containing", ADDRESS, "--yes")
    assert report["conversations"] == ["old-customer"] and "old-customer" not in senders(tracker)


def test_erase_without_a_conversation_is_refused(kept, capsys):
    assert console_main(["erase"]) == 2
    assert "name the conversation ids" in capsys.readouterr().err


@pytest.mark.slow
def test_purge_and_erase_on_postgresql(postgres, tmp_path, monkeypatch, capsys):
    """The production stores: the suggestion store, Rasa's tracker store and event broker on PostgreSQL."""
    import subprocess

    from rasa.core.brokers.sql import SQLEventBroker
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    suffix = uuid_suffix()
    names = {kind: f"privacy_{kind}_{suffix}" for kind in ("store", "tracker", "events")}
    for name in names.values():
        subprocess.run(["psql", f"{postgres['url']}/postgres", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    host, port = "127.0.0.1", postgres["port"]
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KEFU_STORE_URL", f"{postgres['url']}/{names['store']}")
    monkeypatch.setenv("KEFU_TRACKER_URL", f"{postgres['url']}/{names['tracker']}")
    monkeypatch.setenv("KEFU_EVENTS_URL", f"{postgres['url']}/{names['events']}")
    store = SuggestionStore.migrated(f"{postgres['url']}/{names['store']}")
    tracker = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=host, port=port, db=names["tracker"], username="kefu")
    broker = SQLEventBroker(dialect="postgresql", host=host, port=port, db=names["events"], username="kefu")
    for sender, at in (("pg-old", time.time() - 200 * DAY), ("pg-new", time.time())):
        events = [UserUttered(f"我的电话{PHONE}", timestamp=at)]
        asyncio.run(tracker.save(DialogueStateTracker.from_events(sender, events)))
        broker.publish(dict(events[0].as_dict(), sender_id=sender))
    tracker.engine.dispose()
    broker.engine.dispose()

    code, report = run_console(capsys, "purge")
    assert code == 0 and report["conversations"] == 1
    assert report["rows"]["tracker store"] == 1 and report["rows"]["event stream"] == 1
    code, found = run_console(capsys, "erase", "--containing", PHONE)
    assert found["conversations"] == ["pg-new"]
    code, report = run_console(capsys, "erase", "pg-new")
    assert report["rows"]["tracker store"] == 1 and report["rows"]["event stream"] == 1
    code, found = run_console(capsys, "erase", "--containing", PHONE)
    assert found["conversations"] == []
    store.engine.dispose()


def uuid_suffix() -> str:
    import uuid

    return uuid.uuid4().hex[:8]
