"""The store read-only (another process holds SQLite's write lock; as root chmod would not stop a
write): approving and signing in answer 503 store_unavailable, not a generic 500, and the log
gets one line for the outage, not a traceback per request."""
from __future__ import annotations

import json
import logging
import sqlite3
from contextlib import contextmanager

import pytest

from assist.settings import Settings
from assist.store import SuggestionStore
from console.app import create_app
from console.passwords import hash_password

SITUATION = {"intent": "complaint", "concerns": ["complaint"], "mood": "angry", "urgency": 6}
DRAFTS = [{"text": "非常抱歉给您添麻烦了，我马上帮您核实，您看可以吗？", "score": 0.9, "reason": "", "variant_id": "v1"}]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("KEFU_STORE_LOCK_SECONDS", "0.2")
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture
def app(store, tmp_path):
    settings = Settings(store_url=store.url, events_url=f"sqlite:///{tmp_path / 'events.db'}", rasa_jwt_secret="t" * 32)
    return create_app(settings, store=store, workers=False)


@contextmanager
def read_only(store):
    db = sqlite3.connect(store.url[len("sqlite:///"):], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def test_approve_and_sign_in_answer_503_while_the_store_is_read_only(app, store, caplog):
    token = store.agents.create_agent("xiaowang")
    store.agents.set_password_hash("xiaowang", hash_password("a long enough password"))
    case = store.cases.open_case("c1", SITUATION, DRAFTS, "东西坏了")
    draft = store.cases.get_case(case["id"])["drafts"][0]
    approve = json.dumps({"draft_id": draft["id"], "batch": 1})
    login = json.dumps({"name": "xiaowang", "password": "a long enough password"})
    with read_only(store), caplog.at_level(logging.WARNING):
        answers = [app.test_client.post(f"/api/cases/{case['id']}/approve", data=approve,
                                        headers={"Authorization": f"Bearer {token}"})[1] for _ in range(3)]
        answers.append(app.test_client.post("/login", data=login, headers={"Content-Type": "application/json"})[1])
    for response in answers:
        assert response.status == 503 and response.json["error"]["code"] == "store_unavailable"
        assert response.headers["retry-after"] == "2"
    assert store.cases.get_case(case["id"])["decisions"] == []
    lines = [r for r in caplog.records if "store unavailable" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    # The store is back: the same approval goes through.
    _, response = app.test_client.post(f"/api/cases/{case['id']}/approve", data=approve, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 201
