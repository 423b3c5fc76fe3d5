"""The tracker store's database down (issue 20, trap 3): Rasa's FailSafeTrackerStore would answer the
customer from a fresh, un-paused conversation and lose the message. kefu's channels refuse it with a
retryable error instead (kefu_rasa/tracker_guard.py), and the message sent again once PostgreSQL is
back is logged once, in the paused conversation, and reaches the agent's case.

The test takes PostgreSQL down, so it runs its own (not the session's shared `postgres` fixture)."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
import socketio
import yaml

from assist.store import SuggestionStore
from kefu_rasa.dev.servers import ROOT, free_port, start_stack, wait_until

pytestmark = pytest.mark.slow

COMPLAINT = "我要投诉，东西是坏的，客服也不理人"
FOLLOW_UP = "客服怎么还不回我"


@pytest.fixture
def private_postgres():
    from kefu_rasa.dev.services import start_postgres

    server = start_postgres(("tracker", "events", "suggestions"))
    if server is None:
        pytest.skip("PostgreSQL is not installed (scripts/install_services.sh installs it)")
    yield server
    server.close()


@pytest.fixture
def pg_stack(trained_model, private_postgres, redis, tmp_path):
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    pg = {"dialect": "postgresql", "url": "127.0.0.1", "port": private_postgres.port, "username": "kefu", "password": ""}
    endpoints["tracker_store"] = {"type": "SQL", **pg, "db": "tracker"}
    endpoints["event_broker"] = {"type": "SQL", **pg, "db": "events"}
    endpoints["lock_store"] = {"type": "redis", "url": "127.0.0.1", "port": redis, "db": 1}
    source = tmp_path / "endpoints.yml"
    source.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    env = {"KEFU_STORE_URL": f"{private_postgres.url}/suggestions", "KEFU_EVENTS_URL": f"{private_postgres.url}/events",
           "KEFU_ORDERS": f"sqlite:///{tmp_path / 'orders.db'}"}
    running = start_stack(trained_model, tmp_path / "stack", data_dir=tmp_path / "data", endpoints_source=source,
                          rasa_port=free_port(), actions_port=free_port(), console_port=free_port(),
                          secret=uuid.uuid4().hex, extra_env=env)
    yield running
    running.stop()


class Socket:
    """A socket.io client that records what it receives."""

    def __init__(self, url: str):
        self.events, self.changed = [], threading.Condition()
        self.client = socketio.Client(reconnection=False)
        for name in ("session_confirm", "bot_uttered", "kefu_error"):
            self.client.on(name, self._recorder(name))
        self.client.connect(url, transports=["polling"], wait_timeout=20)

    def _recorder(self, name):
        def record(data=None):
            with self.changed:
                self.events.append((name, data))
                self.changed.notify_all()
        return record

    def wait_for(self, name: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        with self.changed:
            while not any(n == name for n, _ in self.events) and time.monotonic() < deadline:
                self.changed.wait(max(0.0, deadline - time.monotonic()))
            return [data for n, data in self.events if n == name]


def customer_texts(store, case_id):
    return [m["text"] for m in store.cases.get_case(case_id)["messages"] if m["sender"] == "customer"]


def test_a_message_while_postgres_is_down_is_refused_retried_and_logged_once(pg_stack, private_postgres):
    webhook = f"{pg_stack.rasa_url}/webhooks/rest/webhook"
    sender = f"down-{uuid.uuid4()}"
    answer = requests.post(webhook, json={"sender": sender, "message": COMPLAINT}, timeout=60)
    assert answer.status_code == 200 and answer.json()  # the holding message: a case is open, the bot paused
    store = SuggestionStore(pg_stack.store_url)
    case = wait_until(lambda: store.cases.open_case_for(sender), timeout=30)
    assert case is not None and wait_until(lambda: customer_texts(store, case["id"]) == [COMPLAINT], timeout=30)

    private_postgres.stop()
    try:
        refused = requests.post(webhook, json={"sender": sender, "message": FOLLOW_UP}, timeout=60)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "2"
        error = refused.json()["error"]
        assert error["code"] == "conversation_store_unavailable" and error["retryable"] is True
        assert "text" not in refused.text  # no bot message in the refusal: nothing was answered

        # socket.io: a web-chat customer (catching up on connect, which reads the store) is refused too.
        socket = Socket(pg_stack.rasa_url)
        try:
            session = str(uuid.uuid4())
            socket.client.emit("session_request", {"session_id": session, "kefu_since": 0})
            assert socket.wait_for("session_confirm") == [session]
            message_id = str(uuid.uuid4())
            socket.client.emit("user_uttered", {"session_id": session, "message": "你好", "message_id": message_id})
            errors = socket.wait_for("kefu_error")
            assert [(e["code"], e["retryable"], e["message_id"]) for e in errors] == [
                ("conversation_store_unavailable", True, message_id)]
            assert socket.wait_for("bot_uttered", timeout=1) == []
        finally:
            socket.client.disconnect()
    finally:
        private_postgres.start()

    # The client sends the same message again after Retry-After (the pool's first try after the
    # restart may still find a dead connection: refused again, the same way).
    def retried():
        answer = requests.post(webhook, json={"sender": sender, "message": FOLLOW_UP}, timeout=60)
        if answer.status_code == 503:
            time.sleep(int(answer.headers["Retry-After"]))
            return None
        return answer

    accepted = wait_until(retried, timeout=60)
    assert accepted is not None and accepted.status_code == 200
    assert accepted.json() == []  # still paused: the agent's case, not the bot
    tracker = requests.get(f"{pg_stack.rasa_url}/conversations/{sender}/tracker", headers=pg_stack.rasa_auth(), timeout=20).json()
    assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == [COMPLAINT, FOLLOW_UP]
    assert tracker["paused"] is True
    assert wait_until(lambda: customer_texts(store, case["id"]) == [COMPLAINT, FOLLOW_UP], timeout=30)
    assert store.cases.open_case_for(sender)["id"] == case["id"]
