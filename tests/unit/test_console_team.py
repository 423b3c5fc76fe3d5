"""A team on a shift, through the API: roles stored with the agent and checked on every route,
an agent's transfer to a colleague with a note, a supervisor's load view and reassignment, a
rejection that brings fresh drafts (or says there are none), an edit sent anyway over newer
messages (recorded), and the CLI that gives an agent a role."""
from __future__ import annotations

import json

import pytest

from assist.settings import Settings
from assist.store import SuggestionStore
from console.app import create_app
from console.roles import roles_of
from console.routes.auth import public

SITUATION = {"intent": "delivery_delay", "concerns": ["delivery_delay"], "mood": "angry", "temperament": "agitated", "urgency": 8,
             "facts": {"order_id": "1234567890", "carrier": "中通", "days_late": 5}}
DRAFTS = [{"text": "非常抱歉让您久等了，我马上帮您催件，今天18点前给您回复，您看可以吗？", "score": 0.9, "reason": "r", "variant_id": "v1"},
          {"text": "抱歉让您着急了，我这就帮您查物流，您看可以吗？", "score": 0.7, "reason": "r", "variant_id": "v2"}]


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture
def app(store, tmp_path):
    settings = Settings(store_url=store.url, events_url=f"sqlite:///{tmp_path / 'events.db'}", rasa_jwt_secret="t" * 32)
    return create_app(settings, store=store, workers=False)


@pytest.fixture
def tokens(store):
    return {"xiaowang": store.agents.create_agent("xiaowang"), "xiaoli": store.agents.create_agent("xiaoli"),
            "laozhang": store.agents.create_agent("laozhang", role="supervisor")}


@pytest.fixture
def case(store):
    return store.cases.open_case("customer-1", SITUATION, DRAFTS, "你们这什么破快递，一个礼拜了还不到！", channel="socketio")


def call(app, method, path, token, payload=None, raw=None):
    kwargs = {"headers": {"Authorization": f"Bearer {token}"}}
    if raw is not None:
        kwargs["data"] = raw
    elif payload is not None:
        kwargs["data"] = json.dumps(payload)
    _, response = getattr(app.test_client, method)(path, **kwargs)
    return response


def error(response):
    return response.status, response.json["error"]["code"]


# ---- roles -------------------------------------------------------------------------------------
def test_every_route_that_needs_an_agent_names_its_roles(app):
    """Deny by default: a route without @allow(...) would refuse everyone; none is left without."""
    unnamed = [route.path for route in app.router.routes
               if not public("/" + route.path.lstrip("/")) and roles_of(route.handler) is None]
    assert unnamed == []


def test_roles_are_stored_with_the_agent_and_rotating_a_token_keeps_them(store):
    store.agents.create_agent("xiaowang")
    store.agents.create_agent("laozhang", role="supervisor")
    assert store.agents.role_of("xiaowang") == "agent" and store.agents.role_of("laozhang") == "supervisor"
    token = store.agents.create_agent("laozhang")  # a new token, the same supervisor
    assert store.agents.identity_for_token(token) == {"name": "laozhang", "role": "supervisor"}
    store.agents.set_role("laozhang", "agent")
    assert store.agents.identity_for_token(token)["role"] == "agent"
    assert store.agents.roster() == [{"name": "laozhang", "role": "agent"}, {"name": "xiaowang", "role": "agent"}]
    with pytest.raises(ValueError, match="role must be one of"):
        store.agents.create_agent("x", role="boss")


def test_an_agent_cannot_reassign_see_the_team_read_the_figures_or_take_over(app, store, tokens, case):
    store.claims.claim_case(case["id"], "xiaoli")
    for method, path, payload in [
        ("post", f"/api/cases/{case['id']}/reassign", {"to": "xiaowang", "note": "你来"}),
        ("get", "/api/team", None), ("get", "/api/figures", None), ("get", "/team", None),
        ("post", f"/api/cases/{case['id']}/claim", {"takeover": True}),
    ]:
        refused = call(app, method, path, tokens["xiaowang"], payload)
        assert refused.status == 403, path
        if path.startswith("/api/"):
            assert refused.json["error"]["code"] == "forbidden" and "主管" in refused.json["error"]["message"]
    assert store.claims.claimed_by(case["id"]) == "xiaoli"  # nothing moved
    assert store.claims.handovers(case["id"]) == []
    for path in ("/api/team", "/api/figures", "/team"):
        assert call(app, "get", path, tokens["laozhang"]).status == 200, path


def test_a_role_changed_in_the_store_holds_from_the_next_request(app, store, tokens):
    assert call(app, "get", "/api/team", tokens["xiaowang"]).status == 403
    store.agents.set_role("xiaowang", "supervisor")
    assert call(app, "get", "/api/team", tokens["xiaowang"]).status == 200
    assert call(app, "get", "/api/me", tokens["xiaowang"]).json["role"] == "supervisor"


def test_agents_see_their_own_cases_and_the_shared_queue_a_supervisor_sees_all(app, store, tokens):
    mine = store.cases.open_case("a", SITUATION, DRAFTS, "我的")
    theirs = store.cases.open_case("b", SITUATION, DRAFTS, "别人的")
    shared = store.cases.open_case("c", SITUATION, DRAFTS, "没人接")
    store.claims.claim_case(mine["id"], "xiaowang")
    store.claims.claim_case(theirs["id"], "xiaoli")

    def queue(who):
        return {c["id"] for c in call(app, "get", "/api/cases", tokens[who]).json["cases"]}

    assert queue("xiaowang") == {mine["id"], shared["id"]}
    assert queue("xiaoli") == {theirs["id"], shared["id"]}
    assert queue("laozhang") == {mine["id"], theirs["id"], shared["id"]}


# ---- transfer ----------------------------------------------------------------------------------
def test_an_agent_transfers_a_case_to_a_colleague_with_a_note(app, store, tokens, case):
    store.claims.claim_case(case["id"], "xiaowang")
    note = "顾客要退款，订单已核实，请跟进退款进度"
    moved = call(app, "post", f"/api/cases/{case['id']}/transfer", tokens["xiaowang"], {"to": "xiaoli", "note": note})
    assert moved.status == 201
    handover = moved.json["handover"]
    assert (handover["kind"], handover["from"], handover["to"], handover["by"], handover["note"]) == ("transfer", "xiaowang", "xiaoli", "xiaowang", note)
    assert store.claims.claimed_by(case["id"]) == "xiaoli"
    # The receiver reads the note on the queue item and on the case; the sender no longer sees it.
    item = next(c for c in call(app, "get", "/api/cases", tokens["xiaoli"]).json["cases"] if c["id"] == case["id"])
    assert item["handover"]["note"] == note and item["handover"]["from"] == "xiaowang"
    assert call(app, "get", f"/api/cases/{case['id']}", tokens["xiaoli"]).json["handovers"][0]["note"] == note
    assert case["id"] not in {c["id"] for c in call(app, "get", "/api/cases", tokens["xiaowang"]).json["cases"]}
    # Only the receiver answers now.
    draft = store.cases.get_case(case["id"])["drafts"][0]
    assert error(call(app, "post", f"/api/cases/{case['id']}/approve", tokens["xiaowang"], {"draft_id": draft["id"]})) == (409, "claimed")
    assert call(app, "post", f"/api/cases/{case['id']}/approve", tokens["xiaoli"], {"draft_id": draft["id"]}).status == 201


def test_a_transfer_is_refused_clearly(app, store, tokens, case):
    path = f"/api/cases/{case['id']}/transfer"
    assert error(call(app, "post", path, tokens["xiaowang"], {"to": "nobody", "note": "请跟进"})) == (404, "unknown_agent")
    assert error(call(app, "post", path, tokens["xiaowang"], {"to": "xiaowang", "note": "请跟进"})) == (400, "bad_field")
    assert error(call(app, "post", path, tokens["xiaowang"], {"to": "xiaoli"})) == (400, "missing_field")
    assert error(call(app, "post", path, tokens["xiaowang"], {"to": "xiaoli", "note": "   "})) == (400, "missing_field")
    assert error(call(app, "post", path, tokens["xiaowang"], {"to": "xiaoli", "note": "x" * 501})) == (400, "bad_field")
    assert error(call(app, "post", path, tokens["xiaowang"], {"to": 7, "note": "请跟进"})) == (400, "bad_field")
    assert error(call(app, "post", path, tokens["xiaowang"], {"to": "xiaoli", "note": "请跟进", "urgent": True})) == (400, "unknown_field")
    assert error(call(app, "post", path, tokens["xiaowang"], None, raw="{to:")) == (400, "malformed_json")
    assert error(call(app, "post", "/api/cases/nope/transfer", tokens["xiaowang"], {"to": "xiaoli", "note": "请跟进"})) == (404, "not_found")
    store.claims.claim_case(case["id"], "xiaoli")  # someone else's case is theirs to hand on
    refused = call(app, "post", path, tokens["xiaowang"], {"to": "xiaowang2", "note": "请跟进"})
    assert error(refused) == (409, "claimed") and refused.json["error"]["claimed_by"] == "xiaoli"
    assert store.claims.handovers(case["id"]) == []
    store.cases.close_case(case["id"])
    assert error(call(app, "post", path, tokens["xiaoli"], {"to": "xiaowang", "note": "请跟进"})) == (409, "wrong_state")


# ---- the supervisor ----------------------------------------------------------------------------
def test_a_supervisor_sees_every_agents_load_and_reassigns(app, store, tokens, case):
    other = store.cases.open_case("customer-2", SITUATION, DRAFTS, "还没发货吗")
    store.claims.claim_case(case["id"], "xiaowang")
    store.claims.claim_case(other["id"], "xiaowang")
    load = call(app, "get", "/api/team", tokens["laozhang"]).json
    agents = {a["name"]: a for a in load["agents"]}
    assert agents["xiaowang"]["cases"] == 2 and agents["xiaowang"]["waiting"] == 2 and agents["xiaoli"]["cases"] == 0
    assert agents["laozhang"]["role"] == "supervisor" and load["shared"]["cases"] == 0

    moved = call(app, "post", f"/api/cases/{case['id']}/reassign", tokens["laozhang"], {"to": "xiaoli", "note": "小王忙不过来"})
    assert moved.status == 201 and moved.json["handover"]["by"] == "laozhang" and moved.json["handover"]["from"] == "xiaowang"
    back = call(app, "post", f"/api/cases/{other['id']}/reassign", tokens["laozhang"], {"to": None})
    assert back.status == 201 and store.claims.claimed_by(other["id"]) is None  # back to the shared queue
    agents = {a["name"]: a for a in call(app, "get", "/api/team", tokens["laozhang"]).json["agents"]}
    assert (agents["xiaowang"]["cases"], agents["xiaoli"]["cases"]) == (0, 1)
    recorded = store.claims.handovers(case["id"]) + store.claims.handovers(other["id"])
    assert [(h["kind"], h["from"], h["to"], h["by"], h["note"]) for h in recorded] == [
        ("reassign", "xiaowang", "xiaoli", "laozhang", "小王忙不过来"), ("reassign", "xiaowang", None, "laozhang", None)]
    assert all(h["at"] for h in recorded)
    assert error(call(app, "post", f"/api/cases/{case['id']}/reassign", tokens["laozhang"], {"note": "x"})) == (400, "missing_field")
    assert error(call(app, "post", f"/api/cases/{case['id']}/reassign", tokens["laozhang"], {"to": "ghost"})) == (404, "unknown_agent")


def test_everyone_can_list_the_colleagues_a_case_can_go_to(app, tokens):
    listed = call(app, "get", "/api/agents", tokens["xiaowang"]).json["agents"]
    assert listed == [{"name": "laozhang", "role": "supervisor"}, {"name": "xiaoli", "role": "agent"}, {"name": "xiaowang", "role": "agent"}]
    labels = call(app, "get", "/api/me", tokens["xiaowang"]).json["labels"]
    assert labels["roles"] == {"agent": "客服", "supervisor": "主管"} and labels["handovers"]["transfer"] == "转交"


# ---- decisions on a case that moves ------------------------------------------------------------
def test_a_rejection_brings_fresh_drafts_until_there_are_none(app, store, tokens, case):
    refused = set()
    batch = case["batch"]
    for _ in range(40):
        current = store.cases.get_case(case["id"])
        refused |= {d["variant_id"] for d in current["drafts"]}
        rejected = call(app, "post", f"/api/cases/{case['id']}/reject", tokens["xiaowang"], {"reason": "不合适", "batch": batch})
        assert rejected.status == 201 and rejected.json["decision"]["action"] == "reject"
        assert rejected.json["batch"] == batch + 1
        batch = rejected.json["batch"]
        fresh = store.cases.get_case(case["id"])["drafts"]
        assert rejected.json["fresh_drafts"] == len(fresh)
        assert not {d["variant_id"] for d in fresh} & refused  # never a variant rejected in this case
        if not fresh:
            break
    else:
        raise AssertionError("the drafts never ran out")
    assert len(refused) > 2  # it did offer fresh ones before running out
    # With nothing left to offer, the agent writes the reply on the empty batch.
    sent = call(app, "post", f"/api/cases/{case['id']}/edit", tokens["xiaowang"],
                {"text": "非常抱歉，我这就去仓库核实，今天下午5点前回复您。", "batch": batch})
    assert sent.status == 201 and sent.json["decision"]["batch"] == batch


def test_a_retried_rejection_does_not_draft_twice(app, store, tokens, case):
    body = {"reason": "不合适", "batch": case["batch"], "idempotency_key": "k-1"}
    first = call(app, "post", f"/api/cases/{case['id']}/reject", tokens["xiaowang"], body).json
    again = call(app, "post", f"/api/cases/{case['id']}/reject", tokens["xiaowang"], body).json
    assert again["decision"]["id"] == first["decision"]["id"] and again["fresh_drafts"] is None
    assert store.cases.get_case(case["id"])["batch"] == case["batch"] + 1


def test_an_edit_begun_before_the_customer_wrote_again_is_sent_only_on_purpose(app, store, tokens, case):
    begun = case["batch"]
    store.cases.open_case("customer-1", SITUATION, DRAFTS, "人呢？？")  # the customer writes again: a new batch
    now_batch = store.cases.get_case(case["id"])["batch"]
    text = "非常抱歉让您久等了，我马上帮您催件。"
    stale = call(app, "post", f"/api/cases/{case['id']}/edit", tokens["xiaowang"], {"text": text, "batch": begun})
    assert error(stale) == (409, "already_handled")  # the edit was written before the new words
    anyway = call(app, "post", f"/api/cases/{case['id']}/edit", tokens["xiaowang"],
                  {"text": text, "batch": now_batch, "written_for": begun})
    assert anyway.status == 201
    decision = store.cases.get_case(case["id"])["decisions"][-1]
    assert (decision["batch"], decision["written_for_batch"], decision["final_text"]) == (now_batch, begun, text)
    assert error(call(app, "post", f"/api/cases/{case['id']}/edit", tokens["xiaowang"], {"text": text, "written_for": "1"})) == (400, "bad_field")


# ---- the CLI -----------------------------------------------------------------------------------
def test_the_cli_creates_an_agent_with_a_role_and_changes_it(tmp_path, monkeypatch, capsys):
    from console.__main__ import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("KEFU_STORE_URL", url)
    assert main(["migrate"]) == 0
    assert main(["create-agent", "laozhang", "--role", "supervisor"]) == 0
    assert "laozhang (supervisor) created" in capsys.readouterr().out
    assert main(["create-agent", "xiaowang"]) == 0
    store = SuggestionStore(url)
    assert store.agents.role_of("laozhang") == "supervisor" and store.agents.role_of("xiaowang") == "agent"
    assert main(["set-role", "xiaowang", "supervisor"]) == 0 and store.agents.role_of("xiaowang") == "supervisor"
    assert main(["set-role", "ghost", "agent"]) == 2 and "no agent ghost" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["create-agent", "x", "--role", "boss"])
