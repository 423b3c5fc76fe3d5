"""The bad-input matrix (issue 16): what a careless or hostile client sends to Rasa's customer
channels, and what it gets back. The tests (tests/integration/test_security.py) and the benchmark
(bench/bad_input.py, which also asks Rasa's own channels) run the same rows against real servers.

Every row is sent in one conversation per channel; after all of them that conversation must still
answer a plain 你好 — a bad message is refused, never the end of the conversation.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import requests

LONG = "好" * 10_001  # one over KEFU_MAX_MESSAGE_CHARS' default
LONE_SURROGATE = '"\\ud800你好"'  # JSON text: a valid escape that decodes to half an emoji


@dataclass
class Row:
    channel: str
    case: str
    sent: str
    expected: str  # kefu's answer
    answer: str = ""  # what the server under test answered


# ---- REST: POST /webhooks/rest/webhook ----------------------------------------------------------
def _rest_rows(sender: str) -> List[tuple]:
    """(case, raw body, kefu's answer). A raw body, not json=, so non-JSON and odd JSON go out as they are."""
    def body(**fields: Any) -> str:
        return json.dumps(fields, ensure_ascii=False)

    return [
        ("body is not JSON", "hello", "400 malformed_json"),
        ("body is empty", "", "400 malformed_json"),
        ("body is a JSON array", f'[{body(sender=sender, message="你好")}]', "400 malformed_json"),
        ("message is a number", body(sender=sender, message=123), "400 bad_field"),
        ("message is a list", body(sender=sender, message=["你好"]), "400 bad_field"),
        ("message is null", body(sender=sender, message=None), "400 bad_field"),
        ("message is an object", body(sender=sender, message={"text": "你好"}), "400 bad_field"),
        ("message is missing", body(sender=sender), "400 missing_field"),
        ("message holds a lone surrogate", f'{{"sender": "{sender}", "message": {LONE_SURROGATE}}}', "400 bad_field"),
        ("message is 10,001 characters", body(sender=sender, message=LONG), "400 too_long"),
        ("sender is missing", body(message="你好"), "400 missing_field"),
        ("sender is empty", body(sender="", message="你好"), "400 missing_field"),
        ("sender is a number", body(sender=13800138000, message="你好"), "400 bad_field"),
        ("a whole emoji (a surrogate pair)", f'{{"sender": "{sender}", "message": "\\ud83d\\ude00你好"}}', "200 answered"),
    ]


def _rest_answer(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"{response.status_code} (not JSON)"
    if response.status_code == 200:
        return "200 answered" if isinstance(data, list) and data else "200 []"
    code = data.get("error", {}).get("code") if isinstance(data, dict) and isinstance(data.get("error"), dict) else None
    return f"{response.status_code} {code or 'error'}"


def rest_matrix(rasa_url: str) -> List[Row]:
    sender = f"bad-input-{uuid.uuid4()}"
    url = f"{rasa_url}/webhooks/rest/webhook"
    rows = []
    for case, raw, expected in _rest_rows(sender):
        response = requests.post(url, data=raw.encode("utf-8"), headers={"Content-Type": "application/json"}, timeout=60)
        shown = raw.replace(sender, "c1")  # the conversation id, shortened for the table
        rows.append(Row("REST", case, shown if len(shown) < 70 else shown[:60] + "…", expected, _rest_answer(response)))
    # The conversation that took every bad message still answers.
    after = requests.post(url, json={"sender": sender, "message": "你好"}, timeout=60)
    rows.append(Row("REST", "then 你好 in the same conversation", '{"sender": "c1", "message": "你好"}', "200 answered",
                    _rest_answer(after)))
    return rows


# ---- socket.io ----------------------------------------------------------------------------------
class _Socket:
    """A socket.io client that records every event it receives."""

    def __init__(self, url: str):
        import socketio

        self.events: List[tuple] = []
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        for name in ("session_confirm", "bot_uttered", "kefu_error"):
            self.client.on(name, self._recorder(name))
        self.client.connect(url, transports=["polling"], wait_timeout=20)

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(data: Any = None) -> None:
            with self.changed:
                self.events.append((name, data))
                self.changed.notify_all()
        return record

    def send(self, event: str, data: Any, wait: float) -> List[tuple]:
        """Emit, then what arrived within `wait` s (stops early at the first event)."""
        with self.changed:
            start = len(self.events)
        self.client.emit(event, data)
        deadline = time.monotonic() + wait
        with self.changed:
            while len(self.events) == start and time.monotonic() < deadline:
                self.changed.wait(max(0.0, deadline - time.monotonic()))
            if len(self.events) > start:
                self.changed.wait(0.3)  # a bot answer comes as several events
            return self.events[start:]

    def close(self) -> None:
        self.client.disconnect()


def _socket_answer(events: List[tuple]) -> str:
    if not events:
        return "nothing"
    name, data = events[0]
    if name == "kefu_error":
        return f"kefu_error {data.get('code') if isinstance(data, dict) else data}"
    return name


def socket_matrix(rasa_url: str, wait: float = 3.0) -> List[Row]:
    session, other = str(uuid.uuid4()), str(uuid.uuid4())
    rows: List[Row] = []
    socket = _Socket(rasa_url)
    try:
        def row(case: str, event: str, data: Any, expected: str, shown: Optional[str] = None) -> None:
            answer = _socket_answer(socket.send(event, data, wait))
            if shown is None:  # the session ids, shortened for the table
                shown = f"{event} {json.dumps(data, ensure_ascii=False)}".replace(session, "S1").replace(other, "S2")
            rows.append(Row("socket.io", case, shown, expected, answer))

        row("a message before session_request", "user_uttered", {"session_id": session, "message": "你好"}, "kefu_error unknown_session")
        row("session_id is a phone number", "session_request", {"session_id": "13800138000"}, "kefu_error bad_field")
        row("session_id is a number", "session_request", {"session_id": 42}, "kefu_error bad_field")
        row("session_request with a uuid4", "session_request", {"session_id": session}, "session_confirm")
        row("message is a number", "user_uttered", {"session_id": session, "message": 123}, "kefu_error bad_field")
        row("message is a list", "user_uttered", {"session_id": session, "message": ["你好"]}, "kefu_error bad_field")
        row("message is null", "user_uttered", {"session_id": session, "message": None}, "kefu_error bad_field")
        row("message is an object", "user_uttered", {"session_id": session, "message": {"text": "你好"}}, "kefu_error bad_field")
        row("message is missing", "user_uttered", {"session_id": session}, "kefu_error missing_field")
        row("message holds a lone surrogate", "user_uttered", {"session_id": session, "message": "\ud800你好"},
            "kefu_error bad_field", shown='user_uttered {"session_id": "S1", "message": "\\ud800你好"}')
        row("message is 10,001 characters", "user_uttered", {"session_id": session, "message": LONG}, "kefu_error too_long",
            shown='user_uttered {"session_id": "S1", "message": "好好好…" (10,001 characters)}')
        row("the payload is a string", "user_uttered", "你好", "kefu_error malformed_json")
        row("the payload is a list", "user_uttered", [session, "你好"], "kefu_error malformed_json")
        row("another customer's session_id", "user_uttered", {"session_id": other, "message": "你好"}, "kefu_error unknown_session")
        row("metadata is not JSON", "user_uttered", {"session_id": session, "message": "你好", "metadata": "{oops"},
            "kefu_error bad_field")
        row("then 你好 in the same session", "user_uttered", {"session_id": session, "message": "你好"}, "bot_uttered")
    finally:
        socket.close()
    return rows


# ---- the console's checks (agents' edits) -------------------------------------------------------
def console_matrix(console_url: str, agent_token: str, case_id: str) -> List[Row]:
    headers = {"Authorization": f"Bearer {agent_token}", "Content-Type": "application/json"}
    rows = []
    for case, path, raw, expected in [
        ("check: a lone surrogate", "/api/check", '{"text": "\\ud800您好"}', "400 bad_field"),
        ("edit: a lone surrogate", f"/api/cases/{case_id}/edit", '{"text": "非常抱歉\\ud83d，我马上帮您核实"}', "400 bad_field"),
        ("check: a JSON array", "/api/check", '["您好"]', "400 malformed_json"),
        ("check: text is a number", "/api/check", '{"text": 1}', "400 bad_field"),
        ("then check: 您好 with a whole emoji", "/api/check", '{"text": "您好\\ud83d\\ude00，请问有什么可以帮您？"}', "200 answered"),
    ]:
        response = requests.post(f"{console_url}{path}", data=raw.encode(), headers=headers, timeout=30)
        answer = "200 answered" if response.status_code == 200 else _rest_answer(response)
        rows.append(Row("console API", case, f"POST {path.split('/')[-1]} {raw[:45]}", expected, answer))
    return rows


def table(rows: List[Row], columns: Dict[str, Callable[[Row], str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(get(r)) for get in columns.values()) + " |" for r in rows]
    return "\n".join(lines)
