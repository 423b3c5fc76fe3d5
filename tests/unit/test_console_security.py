"""The console probed as an attacker and a careless client would (issue 16): no secret in what agents
read, a sign-in throttle that cannot be side-stepped, idempotency keys and claims that hold per case,
strict media types and header limits, text that is not text refused (no Rasa needed)."""
from __future__ import annotations

import json

import pytest

from assist.settings import Settings
from assist.store import SuggestionStore
from console.app import create_app
from console.passwords import hash_password
from console.workers.outbox import deliver_due
from assist.integrations.rasa import RasaClient
from kefu_rasa.dev.servers import free_port

SECRET = "rasa-jwt-secret-of-the-security-tests-0123456789"
SITUATION = {"intent": "complaint", "concerns": ["complaint"], "mood": "angry", "temperament": "agitated", "urgency": 6}
DRAFTS = [{"text": "非常抱歉给您添麻烦了，我马上帮您核实，今天18点前给您回复，您看可以吗？", "score": 0.9, "reason": "r", "variant_id": "v1"}]


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture
def settings(store, tmp_path):
    # Rasa's URL: a free port nobody listens on (Rasa is down).
    return Settings(store_url=store.url, events_url=f"sqlite:///{tmp_path / 'events.db'}", rasa_jwt_secret=SECRET,
                    rasa_url=f"http://127.0.0.1:{free_port()}", http_timeout=1)


@pytest.fixture
def app(store, settings):
    return create_app(settings, store=store, workers=False)


@pytest.fixture
def token(store):
    return store.agents.create_agent("xiaowang")


def open_case(store, conversation="customer-1"):
    return store.cases.open_case(conversation, SITUATION, DRAFTS, "东西坏了", channel="socketio")


def call(app, method, path, token=None, payload=None, raw=None, headers=None):
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    kwargs = {"headers": sent}
    if raw is not None:
        kwargs["data"] = raw
    elif payload is not None:
        kwargs["data"] = json.dumps(payload, ensure_ascii=False)
    _, response = getattr(app.test_client, method)(path, **kwargs)
    return response


def error(response):
    return response.status, (response.json or {}).get("error", {}).get("code")


# ---- 1. no secret in what an agent reads ----------------------------------------------------------
def test_a_failed_delivery_shows_agents_its_error_without_a_secret_or_a_query(app, store, settings, token):
    case = open_case(store)
    draft = store.cases.get_case(case["id"])["drafts"][0]
    assert call(app, "post", f"/api/cases/{case['id']}/approve", token, {"draft_id": draft["id"]}).status == 201
    counts = deliver_due(store, RasaClient(settings.rasa_url, settings.rasa_api_secret(), timeout=1))
    assert counts["retry"] == 1
    delivery = call(app, "get", f"/api/cases/{case['id']}", token).json["deliveries"][0]
    assert delivery["state"] == "pending" and "unreachable" in delivery["last_error"]
    assert SECRET not in delivery["last_error"] and "token" not in delivery["last_error"]
    assert "include_events" not in delivery["last_error"]  # the URL's query is gone, its path stays
    assert f"/conversations/customer-1/tracker/events?…" in delivery["last_error"]


# ---- 2. the sign-in throttle counts one name ------------------------------------------------------
def sign_in(app, name, password, content_type="application/json"):
    return call(app, "post", "/login", payload={"name": name, "password": password}, headers={"Content-Type": content_type})


def test_the_sign_in_throttle_cannot_be_side_stepped_with_spaces_tabs_or_full_width(app, store):
    store.agents.create_agent("tester2")
    store.agents.set_password_hash("tester2", hash_password("right-password-123"))
    for variant in ["tester2", "tester2 ", "\ttester2", "tester2\u3000", "ｔｅｓｔｅｒ２"]:
        assert error(sign_in(app, variant, "wrong")) == (401, "bad_credentials"), variant
    # Five failures for one name from one address, however it was written: the sixth try waits,
    # even with the right password and whatever the spelling.
    for variant in ["tester2", " tester2", "tester2\n", "ｔｅｓｔｅｒ２"]:
        assert error(sign_in(app, variant, "right-password-123")) == (429, "too_many_attempts"), variant


def test_names_are_the_same_name_when_created_and_when_signing_in(app, store):
    store.agents.create_agent(" 小王\t")
    assert store.agents.role_of("小王") == "agent"
    store.agents.set_password_hash("小王", hash_password("right-password-123"))
    assert sign_in(app, "小王 ", "right-password-123").status == 200


# ---- 3. idempotency keys and claims hold per case -------------------------------------------------
def test_an_idempotency_key_reused_on_another_case_records_that_case_s_decision(app, store, token):
    first, second = open_case(store, "customer-1"), open_case(store, "customer-2")
    drafts = {c["id"]: store.cases.get_case(c["id"])["drafts"][0]["id"] for c in (first, second)}
    sent = [call(app, "post", f"/api/cases/{c['id']}/approve", token, {"draft_id": drafts[c["id"]], "idempotency_key": "retry-1"})
            for c in (first, second)]
    assert [r.status for r in sent] == [201, 201]
    assert [r.json["decision"]["case_id"] for r in sent] == [first["id"], second["id"]]
    assert len(store.cases.get_case(second["id"])["decisions"]) == 1
    # The same key on the same case is still a retry: the first decision, nothing recorded twice.
    again = call(app, "post", f"/api/cases/{first['id']}/approve", token, {"draft_id": drafts[first["id"]], "idempotency_key": "retry-1"})
    assert again.status == 201 and again.json["decision"]["id"] == sent[0].json["decision"]["id"]
    assert len(store.cases.get_case(first["id"])["decisions"]) == 1


def test_correcting_the_concern_of_a_case_someone_else_holds_is_refused(app, store, token):
    case = open_case(store)
    store.agents.create_agent("xiaoli")
    store.claims.claim_case(case["id"], "xiaoli")
    refused = call(app, "post", f"/api/cases/{case['id']}/concern", token, {"concern": "refund_return"})
    assert error(refused) == (409, "claimed") and refused.json["error"]["claimed_by"] == "xiaoli"
    assert store.learning.corrections() == [] and store.cases.get_case(case["id"])["intent"] == "complaint"


# ---- 4. strict media type (headers over 8 KB: tests/integration/test_security.py) -----------------------------------------------------------
@pytest.mark.parametrize("content_type", ["text/plain; application/json", "text/plain;charset=application/json",
                                          "application/x-www-form-urlencoded", "multipart/form-data; boundary=application/json", ""])
def test_sign_in_takes_json_only_by_its_media_type(app, content_type):
    assert error(sign_in(app, "tester2", "x", content_type)) == (415, "json_only")


def test_sign_in_accepts_json_with_a_charset(app, store):
    store.agents.create_agent("tester2")
    assert error(sign_in(app, "tester2", "x", "Application/JSON; charset=utf-8")) == (401, "bad_credentials")


# ---- 5. text that is not text ---------------------------------------------------------------------
@pytest.mark.parametrize("route, body", [
    ("/api/check", '{"text": "\\ud800您好"}'),
    ("/api/check", '{"text": "您好\\udfff"}'),
    ("EDIT", '{"text": "非常抱歉\\ud83d，我马上帮您核实"}'),
])
def test_a_lone_surrogate_is_a_clear_400_and_the_route_keeps_working(app, store, token, route, body):
    case = open_case(store)
    path = f"/api/cases/{case['id']}/edit" if route == "EDIT" else route
    assert error(call(app, "post", path, token, raw=body)) == (400, "bad_field")
    # A whole emoji (a surrogate pair in JSON) is text: accepted.
    fine = call(app, "post", "/api/check", token, raw='{"text": "您好\\ud83d\\ude00，请问有什么可以帮您？"}')
    assert fine.status == 200 and "findings" in fine.json
    assert store.cases.get_case(case["id"])["decisions"] == []
