"""The console's JSON API: auth, decisions, bad input at every route (no Rasa needed)."""
from __future__ import annotations

import json

import pytest

from assist.store import SuggestionStore
from console.app import create_app
from assist.settings import Settings

SITUATION = {"intent": "complaint", "concerns": ["complaint"], "mood": "angry", "temperament": "agitated", "urgency": 6}
DRAFTS = [
    {"text": "非常抱歉给您添麻烦了，我马上帮您核实，今天18点前给您回复，您看可以吗？", "score": 0.9, "reason": "r1", "variant_id": "v1"},
    {"text": "抱歉让您不满意了，麻烦您拍张照片给我，我这就帮您处理，好吗？", "score": 0.8, "reason": "r2", "variant_id": "v2"},
]
CASE_ROUTES = ["approve", "edit", "reject", "resolve"]


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture
def app(store, tmp_path):
    settings = Settings(store_url=store.url, events_url=f"sqlite:///{tmp_path / 'events.db'}", rasa_jwt_secret="t" * 32)
    return create_app(settings, store=store, workers=False)


@pytest.fixture
def token(store):
    return store.agents.create_agent("xiaowang")


@pytest.fixture
def case(store):
    return store.cases.open_case("customer-1", SITUATION, DRAFTS, "<b>东西坏了</b><script>alert(1)</script>", channel="socketio")


def call(app, method, path, token=None, payload=None, raw=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"headers": headers}
    if raw is not None:
        kwargs["data"] = raw
    elif payload is not None:
        kwargs["data"] = json.dumps(payload)
    _, response = getattr(app.test_client, method)(path, **kwargs)
    return response


def test_health_is_public(app):
    assert call(app, "get", "/health").json == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/cases", "/api/cases/x", "/api/me"])
def test_every_route_needs_an_agent_token(app, path):
    response = call(app, "get", path)
    assert response.status == 401 and response.json["error"]["code"] == "unauthorized"
    assert call(app, "get", path, token="wrong").status == 401


def test_queue_and_case_show_customer_text_verbatim(app, token, case):
    listed = call(app, "get", "/api/cases", token).json["cases"]
    assert [c["id"] for c in listed] == [case["id"]]
    detail = call(app, "get", f"/api/cases/{case['id']}", token).json
    assert detail["messages"][0]["text"] == "<b>东西坏了</b><script>alert(1)</script>"
    assert [d["rank"] for d in detail["drafts"]] == [1, 2]


def test_approve_then_second_approval_is_409(app, token, store, case):
    draft = store.cases.get_case(case["id"])["drafts"][1]
    ok = call(app, "post", f"/api/cases/{case['id']}/approve", token, {"draft_id": draft["id"], "batch": case["batch"]})
    assert ok.status == 201 and ok.json["decision"]["final_text"] == DRAFTS[1]["text"]
    assert ok.json["decision"]["agent"] == "xiaowang"
    again = call(app, "post", f"/api/cases/{case['id']}/approve", token, {"draft_id": draft["id"], "batch": case["batch"]})
    assert again.status == 409 and again.json["error"]["code"] == "already_handled"


def test_an_edit_with_findings_needs_an_explicit_override(app, token, case):
    text = "你好，这是公司规定，没办法。"
    refused = call(app, "post", f"/api/cases/{case['id']}/edit", token, {"text": text})
    assert refused.status == 422 and refused.json["error"]["code"] == "etiquette_findings"
    assert refused.json["error"]["findings"]
    sent = call(app, "post", f"/api/cases/{case['id']}/edit", token, {"text": text, "override": True})
    assert sent.status == 201 and sent.json["decision"]["findings_overridden"] is True


def test_advice_never_blocks_an_edit(app, token, case):
    text = "好的，我这就去仓库核实。"  # a mid-conversation reply: no polite close, which is only advice
    sent = call(app, "post", f"/api/cases/{case['id']}/edit", token, {"text": text})
    assert sent.status == 201, sent.json
    assert [(f["rule"], f["severity"]) for f in sent.json["findings"]] == [("close.polite", "advice")]
    assert sent.json["decision"]["findings_overridden"] is False


def test_a_block_finding_refuses_and_lists_every_finding_with_its_severity(app, token, case):
    refused = call(app, "post", f"/api/cases/{case['id']}/edit", token, {"text": "这是公司规定"})
    assert refused.status == 422
    severities = {f["rule"]: f["severity"] for f in refused.json["error"]["findings"]}
    assert severities == {"rule.shield": "block", "close.polite": "advice"}


def test_a_clean_edit_goes_through(app, token, store, case):
    draft = store.cases.get_case(case["id"])["drafts"][0]
    text = "非常抱歉给您添麻烦了，我马上帮您核实处理，今天18点前给您回复，您看可以吗？"
    response = call(app, "post", f"/api/cases/{case['id']}/edit", token, {"text": text, "draft_id": draft["id"], "resolve": True})
    assert response.status == 201, response.json
    assert response.json["findings"] == [] and response.json["decision"]["edit_distance"] > 0
    resolved = call(app, "post", f"/api/cases/{case['id']}/reject", token, {"reason": "x"})
    assert resolved.status == 409 and resolved.json["error"]["code"] == "wrong_state"


def test_reject_needs_a_reason_and_resolve_closes(app, token, case):
    assert call(app, "post", f"/api/cases/{case['id']}/reject", token, {}).status == 400
    assert call(app, "post", f"/api/cases/{case['id']}/reject", token, {"reason": "语气不对"}).status == 201
    closed = call(app, "post", f"/api/cases/{case['id']}/resolve", token)
    assert closed.status == 200 and closed.json["case"]["state"] == "resolved"
    assert call(app, "post", f"/api/cases/{case['id']}/resolve", token).status == 409


def test_check_endpoint(app, token):
    bad = call(app, "post", "/api/check", token, {"text": "你们自己没看清楚，按规定不能退"}).json["findings"]
    assert {f["rule"] for f in bad} and all({"rule", "span", "why", "fix"} <= set(f) for f in bad)
    assert call(app, "post", "/api/check", token, {"text": "您好，非常抱歉让您久等了，我马上帮您查询，您看可以吗？"}).json["findings"] == []


@pytest.mark.parametrize("route", CASE_ROUTES)
def test_unknown_case_is_404(app, token, route):
    payload = {"approve": {"draft_id": 1}, "edit": {"text": "您好，请问还有什么可以帮您？"}, "reject": {"reason": "r"}, "resolve": {}}[route]
    response = call(app, "post", f"/api/cases/no-such-case/{route}", token, payload)
    assert response.status == 404 and response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("route", CASE_ROUTES + ["check"])
def test_malformed_json_is_400(app, token, case, route):
    path = "/api/check" if route == "check" else f"/api/cases/{case['id']}/{route}"
    for raw in ("{not json", "[1, 2]", "\"text\""):
        response = call(app, "post", path, token, raw=raw)
        assert response.status == 400 and response.json["error"]["code"] == "malformed_json", (route, raw)


@pytest.mark.parametrize(
    "payload, code",
    [
        ({"draft_id": "1"}, "bad_field"),
        ({"draft_id": True}, "bad_field"),
        ({}, "missing_field"),
        ({"draft_id": 1, "resolve": "yes"}, "bad_field"),
        ({"draft_id": 1, "text": "顺手带上的字段"}, "unknown_field"),
    ],
)
def test_approve_validates_fields(app, token, case, payload, code):
    response = call(app, "post", f"/api/cases/{case['id']}/approve", token, payload)
    assert response.status == 400 and response.json["error"]["code"] == code


def test_a_10k_character_edit_is_refused_clearly(app, token, case):
    response = call(app, "post", f"/api/cases/{case['id']}/edit", token, {"text": "您" * 10_000})
    assert response.status == 400 and response.json["error"]["code"] == "too_long"
    assert store_unchanged(app, case)


def store_unchanged(app, case):
    return app.ctx.store.cases.get_case(case["id"])["decisions"] == []


def test_unknown_route_is_json_404(app, token):
    response = call(app, "get", "/api/nothing-here", token)
    assert response.status == 404 and response.json["error"]["code"] == "not_found"
