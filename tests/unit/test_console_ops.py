"""Readiness and metrics without Rasa: each check says why it fails; the store's gauges, the
decisions and the latencies the follower, the routes and the outbox report (console/monitoring/)."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from assist.cases.messages import Outcome
from assist.settings import Settings
from assist.store import SuggestionStore
from assist.store.db import now
from assist.store.schema import deliveries, messages
from console.app import create_app
from console.monitoring.lag import FollowerLag
from console.monitoring.metrics import ConsoleMetrics
from console.monitoring.pulse import WorkerPulse
from kefu_rasa.dev.servers import free_port
TOKEN = "rasa-jwt-secret-for-these-tests-0123456789"
SITUATION = {"intent": "complaint", "concerns": ["complaint"], "mood": "angry", "temperament": "agitated", "urgency": 6}
DRAFTS = [{"text": "非常抱歉给您添麻烦了，我马上帮您核实，今天18点前给您回复，您看可以吗？", "score": 0.9, "reason": "r", "variant_id": "v1"}]


class Events:
    """Rasa's SQL event broker table, as Rasa writes it (id, sender_id, data as JSON)."""

    def __init__(self, url):
        self.engine = sa.create_engine(url)
        with self.engine.begin() as db:
            db.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, sender_id VARCHAR(255), data TEXT)"))

    def add(self, sender, event):
        with self.engine.begin() as db:
            db.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"), {"s": sender, "d": json.dumps(event)})


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture
def events(tmp_path):
    return Events(f"sqlite:///{tmp_path / 'events.db'}")


@pytest.fixture
def settings(store, events):
    # Rasa's URL: a free port nobody listens on.
    return Settings(store_url=store.url, events_url=str(events.engine.url), rasa_jwt_secret=TOKEN,
                    rasa_url=f"http://127.0.0.1:{free_port()}", http_timeout=2)


def samples(text: str) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_ready_and_metrics_need_no_sign_in_and_say_why_the_console_is_not_ready(store, settings, events):
    events.add("c9", {"event": "user", "text": "在吗", "timestamp": time.time() - 100})  # unread for 100 s
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "东西坏了", channel="socketio")
    delivery = store.outbox.queue_message(case["id"], "您好，正在为您处理", kind="holding")
    with store.engine.begin() as db:  # due for two minutes: Rasa has not taken it
        db.execute(deliveries.update().where(deliveries.c.id == delivery).values(next_attempt_at=now() - timedelta(seconds=120)))
    app = create_app(settings, store=store, workers=False)
    _, response = app.test_client.get("/ready")
    assert response.status == 503 and response.json["ready"] is False
    reasons = response.json["reasons"]
    assert reasons[0].startswith(f"rasa: Rasa at {settings.rasa_url} unreachable") and TOKEN not in reasons[0]
    assert re.fullmatch(r"follower: 1 events unread, the oldest 1\d\d s old \(limit 30 s\)", reasons[1])
    assert reasons[2].startswith("outbox: 1 pending, the oldest due for 12") and reasons[2].endswith("s (limit 60 s)")
    assert response.json["checks"]["store"] == {"ok": True} and len(reasons) == 3
    _, scraped = app.test_client.get("/metrics")
    assert scraped.status == 200 and scraped.headers["content-type"].startswith("text/plain")
    found = samples(scraped.text)
    assert found[("kefu_outbox_deliveries", (("state", "pending"),))] == 1
    assert found[("kefu_callback_posts", (("state", "pending"),))] == 0
    assert found[("kefu_follower_lag_events", ())] == 1 and found[("kefu_follower_lag_seconds", ())] >= 100
    assert found[("kefu_open_cases", (("stage", "open"),))] == 1 and found[("kefu_store_up", ())] == 1


def test_a_read_only_store_is_not_ready(tmp_path, settings):
    """SQLite opened read-only (as after a failover to a replica; root ignores file modes)."""
    path = tmp_path / "s.db"
    read_only = SuggestionStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    app = create_app(settings.copy(update={"follow_events": False}), store=read_only, workers=False)
    _, response = app.test_client.get("/ready")
    assert response.status == 503
    assert "store: cannot write: OperationalError: attempt to write a readonly database" in response.json["reasons"]
    assert response.json["checks"]["follower"] == {"ok": True, "following": False}


def test_a_failing_worker_makes_the_console_not_ready():
    pulse = WorkerPulse(clock=lambda: 50.0)
    pulse.failed("outbox", RuntimeError("database is locked\nmore"))
    pulse.failed("outbox", RuntimeError("database is locked"))
    assert pulse.problem("outbox") == "failing for 0 s: RuntimeError: database is locked" and pulse.failures["outbox"] == 2
    pulse.ok("outbox")
    assert pulse.problem("outbox") is None and pulse.problem("follower") is None


def test_metrics_count_cases_by_stage_waiting_customers_decisions_and_latencies(store, settings, events):
    waiting = store.cases.open_case("c1", SITUATION, DRAFTS, "东西坏了")
    answered = store.cases.open_case("c2", SITUATION, DRAFTS, "怎么还没到")
    store.cases.update_conversation(answered["id"], lambda current: {**current, "stage": "in_progress"})
    draft = store.cases.get_case(answered["id"])["drafts"][0]
    decision = store.decisions.decide(answered["id"], "xiaowang", "approve", draft_id=draft["id"])
    store.decisions.decide(waiting["id"], "xiaowang", "reject", reason="不合适")
    with store.engine.begin() as db:  # both customers wrote ten minutes ago; one was answered since
        db.execute(messages.update().where(messages.c.sender == "customer").values(at=now() - timedelta(minutes=10)))
    metrics = ConsoleMetrics(store, settings, FollowerLag(settings.events_url, store), WorkerPulse())
    metrics.message_handled({"event": "user", "timestamp": time.time() - 0.2}, Outcome("duplicate", waiting["id"]))
    metrics.message_handled({"event": "user", "timestamp": time.time()}, Outcome("none"))  # the bot answered it
    metrics.decided(decision)
    metrics.delivered(store.outbox.due()[0])
    found = samples(metrics.render().decode())
    assert found[("kefu_open_cases", (("stage", "open"),))] == 1 and found[("kefu_open_cases", (("stage", "in_progress"),))] == 1
    assert found[("kefu_customers_waiting_past_red", ())] == 1  # the answered customer waits no more
    assert found[("kefu_decisions_total", (("kind", "approve"),))] == 1 and found[("kefu_decisions_total", (("kind", "reject"),))] == 1
    assert found[("kefu_decisions_total", (("kind", "edit"),))] == 0
    assert found[("kefu_message_to_case_seconds_count", ())] == 1 and found[("kefu_message_to_case_seconds_sum", ())] >= 0.2
    assert found[("kefu_approve_to_delivered_seconds_count", ())] == 1
    assert found[("kefu_follower_lag_events", ())] == 0 and found[("kefu_events_up", ())] == 1


def test_a_delivery_quicker_than_its_approve_request_is_still_timed(store, settings, events):
    """The outbox can deliver before the approve route has told the metrics of the decision."""
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "东西坏了")
    draft = store.cases.get_case(case["id"])["drafts"][0]
    asked_at = time.time()
    decision = store.decisions.decide(case["id"], "xiaowang", "approve", draft_id=draft["id"])
    metrics = ConsoleMetrics(store, settings, FollowerLag(settings.events_url, store), WorkerPulse())
    metrics.delivered(store.outbox.due()[0])
    assert samples(metrics.render().decode())[("kefu_approve_to_delivered_seconds_count", ())] == 0
    metrics.decided(decision, asked_at)
    found = samples(metrics.render().decode())
    assert found[("kefu_approve_to_delivered_seconds_count", ())] == 1
    assert 0 <= found[("kefu_approve_to_delivered_seconds_sum", ())] < 5


def test_metrics_say_when_the_store_cannot_be_read(tmp_path, settings):
    broken = SuggestionStore(f"sqlite:///{tmp_path / 'empty.db'}", check_schema=False)  # no tables at all
    found = samples(ConsoleMetrics(broken, settings, None, WorkerPulse()).render().decode())
    assert found[("kefu_store_up", ())] == 0 and ("kefu_open_cases", (("stage", "open"),)) not in found
