"""Issue 16 against the real processes (Rasa, the action server and the console as `make run` starts
them): bad input answered on every customer channel, the sign-in throttle and idempotency keys over
HTTP, headers over 8 KB, the files kept private, every server on loopback only.

Rasa's JWT auth and its command line: tests/integration/test_bot_rest.py; no secret in any log:
tests/integration/test_make_run.py; the console's own checks without servers: tests/unit/test_console_security.py."""
from __future__ import annotations

import socket
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from assist.store import SuggestionStore
from console.passwords import hash_password
from kefu_rasa.dev.bad_input import console_matrix, rest_matrix, socket_matrix

pytestmark = pytest.mark.slow

SITUATION = {"intent": "complaint", "concerns": ["complaint"], "mood": "angry", "temperament": "agitated", "urgency": 6}
DRAFTS = [{"text": "非常抱歉给您添麻烦了，我马上帮您核实，今天18点前给您回复，您看可以吗？", "score": 0.9, "reason": "r", "variant_id": "v1"}]


def answered(rows):
    return [(r.channel, r.case, r.answer) for r in rows]


def expected(rows):
    return [(r.channel, r.case, r.expected) for r in rows]


# ---- 5. bad input: every row answered, the conversation goes on ------------------------------------
def test_rest_answers_every_bad_message_with_a_400_and_the_conversation_goes_on(stack):
    rows = rest_matrix(stack.rasa_url)
    assert answered(rows) == expected(rows)


def test_socket_io_answers_every_bad_message_with_an_error_event_and_the_session_goes_on(stack):
    rows = socket_matrix(stack.rasa_url)
    assert answered(rows) == expected(rows)


def test_the_console_refuses_text_that_is_not_text_and_keeps_working(stack, agent_token):
    store = SuggestionStore(stack.store_url)
    case = store.cases.open_case(f"bad-edit-{uuid.uuid4()}", SITUATION, DRAFTS, "东西坏了", channel="socketio")
    rows = console_matrix(stack.console_url, agent_token, case["id"])
    assert answered(rows) == expected(rows)
    assert store.cases.get_case(case["id"])["decisions"] == []


# ---- 2. the sign-in throttle counts one name ------------------------------------------------------
def login(stack, name, password, content_type="application/json"):
    return requests.post(f"{stack.console_url}/login", json={"name": name, "password": password},
                         headers={"Content-Type": content_type}, timeout=10)


def test_the_sign_in_throttle_counts_a_name_however_it_is_written(stack):
    store = SuggestionStore(stack.store_url)
    name = f"locked-{uuid.uuid4().hex[:6]}"
    store.agents.create_agent(name)
    store.agents.set_password_hash(name, hash_password("right-password-123"))
    tries = [name, f"{name} ", f"\t{name}", f"{name}\u3000", f" {name}\n"]
    assert [login(stack, n, "wrong").status_code for n in tries] == [401] * 5
    # The sixth try waits, whichever spelling and even with the right password.
    for variant in (name, f"{name} ", f"\t{name}"):
        refused = login(stack, variant, "right-password-123")
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_attempts"


# ---- 4. media type and headers --------------------------------------------------------------------
def test_sign_in_is_json_by_its_media_type_and_big_headers_get_431(stack):
    refused = login(stack, "anyone", "x", content_type="text/plain; application/json")
    assert refused.status_code == 415 and refused.json()["error"]["code"] == "json_only"
    big = requests.get(f"{stack.console_url}/api/me", headers={"X-Padding": "a" * 9000}, timeout=10)
    assert big.status_code == 431, big.text
    # The console answers the next request as usual.
    assert requests.get(f"{stack.console_url}/api/me", timeout=10).status_code == 401


# ---- 3. idempotency keys hold per case ------------------------------------------------------------
def test_an_idempotency_key_used_on_two_cases_records_two_decisions(stack, agent_token):
    store = SuggestionStore(stack.store_url)
    cases = [store.cases.open_case(f"idem-{uuid.uuid4()}", SITUATION, DRAFTS, "东西坏了", channel="socketio") for _ in range(2)]
    headers = {"Authorization": f"Bearer {agent_token}"}
    key = f"retry-{uuid.uuid4().hex[:8]}"
    answers = []
    for case in cases:
        draft = store.cases.get_case(case["id"])["drafts"][0]["id"]
        answers.append(requests.post(f"{stack.console_url}/api/cases/{case['id']}/approve", headers=headers,
                                     json={"draft_id": draft, "idempotency_key": key}, timeout=20))
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert [a.json()["decision"]["case_id"] for a in answers] == [c["id"] for c in cases]
    assert [len(store.cases.get_case(c["id"])["decisions"]) for c in cases] == [1, 1]


# ---- 4. private files, loopback only --------------------------------------------------------------
def test_what_the_stack_keeps_is_readable_by_its_user_only(stack):
    data = Path(urlparse(stack.store_url).path).parent
    kept = {p: _mode(p) for p in data.rglob("*") if p.is_file()}
    kept = {p: mode for p, mode in kept.items() if mode is not None}  # SQLite's -shm/-wal come and go
    assert any(p.name == "rasa_jwt_secret" for p in kept) or stack.env.get("KEFU_RASA_JWT_SECRET")
    assert any(p.suffix == ".db" for p in kept)
    assert [f"{p} {mode:o}" for p, mode in kept.items() if mode & 0o077] == []


def _mode(path):
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None


@pytest.mark.parametrize("server", ["rasa", "actions", "console"])
def test_every_server_listens_on_127_0_0_1_only(stack, server):
    """Bound to 0.0.0.0, a server would take a connection to 127.0.0.2 too; on 127.0.0.1 it cannot.
    The action server above all: it has no authentication and accepts any tracker it is sent."""
    port = urlparse({"rasa": stack.rasa_url, "actions": stack.actions_url, "console": stack.console_url}[server]).port
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.2", port), timeout=5).close()
