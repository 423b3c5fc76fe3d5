"""The bad-input matrix (issue 16): every row sent to Rasa's own customer channels (`rest:` and
`socketio:` of Rasa 3.6.21) and to kefu's (kefu_rasa.channels.RestInput / SocketIOInput), each behind
a real Rasa server with the action server; then the console's checks of agents' text. Prints the
Markdown table for bench/RESULTS.md. The same rows are asserted by tests/integration/test_security.py.

    .venv/bin/python bench/bad_input.py
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from assist.store import SuggestionStore  # noqa: E402
from kefu_rasa.dev.bad_input import console_matrix, rest_matrix, socket_matrix, table  # noqa: E402
from kefu_rasa.dev.model_cache import ensure_model  # noqa: E402
from kefu_rasa.dev.servers import free_port, start_stack  # noqa: E402

RASA_OWN = {"rest": None, "socketio": {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
                                        "session_persistence": True}}


def run(model: Path, workdir: Path, credentials: dict, console: bool):
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "credentials.yml").write_text(yaml.safe_dump(credentials), encoding="utf-8")
    stack = start_stack(model, workdir / "run", data_dir=workdir / "data", credentials=workdir / "credentials.yml",
                        rasa_port=free_port(), actions_port=free_port(), console_port=free_port() if console else None,
                        secret=uuid.uuid4().hex, extra_env={"KEFU_WAIT_UPDATE_SECONDS": "3600"})
    try:
        rows = rest_matrix(stack.rasa_url) + socket_matrix(stack.rasa_url)
        if console:
            store = SuggestionStore(stack.store_url)
            token = store.agents.create_agent("bench")
            case = store.cases.open_case(f"bench-{uuid.uuid4()}", {"intent": "complaint", "concerns": ["complaint"]},
                                         [{"text": "非常抱歉，我马上帮您核实，您看可以吗？", "score": 1.0}], "东西坏了", channel="socketio")
            rows += console_matrix(stack.console_url, token, case["id"])
        return rows
    finally:
        stack.stop()


def main() -> int:
    model = ensure_model()
    workdir = Path(tempfile.mkdtemp(prefix="kefu-bench-bad-input-"))
    try:
        print("Rasa 3.6.21's own rest and socketio channels…", file=sys.stderr)
        before = run(model, workdir / "rasa", RASA_OWN, console=False)
        print("kefu's channels (credentials.yml)…", file=sys.stderr)
        kefu_credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
        after = run(model, workdir / "kefu", kefu_credentials, console=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    by_case = {(r.channel, r.case): r.answer for r in before}
    for row in after:
        row.sent = f"`{row.sent}`"
    print(table(after, {
        "channel": lambda r: r.channel,
        "case": lambda r: r.case,
        "sent": lambda r: r.sent,
        "Rasa's own channel": lambda r: by_case.get((r.channel, r.case), "— (not Rasa's)"),
        "kefu": lambda r: r.answer,
        "as expected": lambda r: "yes" if r.answer == r.expected else f"NO (expected {r.expected})",
    }))
    return 0 if all(r.answer == r.expected for r in after) else 1


if __name__ == "__main__":
    sys.exit(main())
