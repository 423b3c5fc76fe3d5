"""Readiness and metrics against real processes: the console is not ready while its store is
read-only (PostgreSQL after a failover, say) and ready again after; a handoff and an approval show
in /metrics and in the logs, one line per event with the case and conversation ids."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from kefu_rasa.dev.servers import free_port, wait_until
from kefu_rasa.dev.supervisor import spawn_process, stop_process

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def ready(console_url: str):
    try:
        response = requests.get(f"{console_url}/ready", timeout=15)
        return response.status_code, response.json()
    except (requests.RequestException, ValueError):
        return None, None


def psql(postgres, sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{postgres['url']}/{db}", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)


def test_readiness_is_false_while_the_store_is_read_only(stack, postgres, tmp_path):
    db = f"ready_{uuid.uuid4().hex[:8]}"
    psql(postgres, f"CREATE DATABASE {db}")
    port = free_port()
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "KEFU_DATA_DIR": str(tmp_path / "data"),
        "KEFU_STORE_URL": f"{postgres['url']}/{db}", "KEFU_EVENTS_URL": f"sqlite:///{tmp_path / 'events.db'}",
        "KEFU_RASA_URL": stack.rasa_url, "KEFU_RASA_JWT_SECRET": stack.secret, "KEFU_CONSOLE_PORT": str(port),
    }
    subprocess.run([sys.executable, "-m", "console", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    console = spawn_process([sys.executable, "-m", "console", "serve"], env, ROOT, open(tmp_path / "console.out", "w"))
    url = f"http://127.0.0.1:{port}"
    read_only = "ALTER DATABASE {db} SET default_transaction_read_only = {value}; " \
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    try:
        assert wait_until(lambda: ready(url)[0] == 200, timeout=60), ready(url)
        psql(postgres, read_only.format(db=db, value="on"))
        status, body = wait_until(lambda: (found := ready(url))[0] == 503 and found, timeout=60)
        assert body["ready"] is False and body["checks"]["store"]["ok"] is False
        assert "store: cannot write: ReadOnlySqlTransaction: cannot execute UPDATE in a read-only transaction" in body["reasons"]
        assert body["checks"]["rasa"]["ok"] is True
        assert requests.get(f"{url}/health", timeout=5).status_code == 200  # alive, only not ready
        psql(postgres, read_only.format(db=db, value="off"))
        assert wait_until(lambda: ready(url)[0] == 200, timeout=60), ready(url)
    finally:
        stop_process(console)


def scrape(stack) -> dict:
    text = requests.get(f"{stack.console_url}/metrics", timeout=15).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(found: dict, name: str) -> float:
    return sum(value for (metric, _), value in found.items() if metric == name)


def test_metrics_after_a_handoff_and_an_approval_show_the_counts(stack, agent_token):
    headers = {"Authorization": f"Bearer {agent_token}"}
    sender = f"ops-x{uuid.uuid4().hex[:7]}"  # never eight digits in a row: the logs mask those as an order number
    before = scrape(stack)
    requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", timeout=30,
                  json={"sender": sender, "message": "你们这什么破快递，一个礼拜了还不到！订单1234567890"}).raise_for_status()

    def open_case():
        cases = requests.get(f"{stack.console_url}/api/cases", headers=headers, timeout=15).json()["cases"]
        return next((c for c in cases if c["conversation_id"] == sender), None)

    case = wait_until(open_case, timeout=30)
    assert case, "no case for the handoff"
    handed = wait_until(lambda: (found := scrape(stack))[("kefu_message_to_case_seconds_count", ())]
                        > before[("kefu_message_to_case_seconds_count", ())] and found, timeout=30)
    assert total(handed, "kefu_open_cases") == total(before, "kefu_open_cases") + 1
    assert handed[("kefu_open_cases", (("stage", "open"),))] == before[("kefu_open_cases", (("stage", "open"),))] + 1

    detail = requests.get(f"{stack.console_url}/api/cases/{case['id']}", headers=headers, timeout=15).json()
    approved = requests.post(f"{stack.console_url}/api/cases/{case['id']}/approve", headers=headers, timeout=15,
                             json={"draft_id": detail["drafts"][0]["id"], "batch": detail["batch"]})
    assert approved.status_code == 201
    after = wait_until(lambda: (found := scrape(stack))[("kefu_approve_to_delivered_seconds_count", ())]
                       > before[("kefu_approve_to_delivered_seconds_count", ())] and found, timeout=30)
    kind = ("kind", "approve"),
    assert after[("kefu_decisions_total", kind)] == before[("kefu_decisions_total", kind)] + 1
    assert after[("kefu_approve_to_delivered_seconds_count", ())] == before[("kefu_approve_to_delivered_seconds_count", ())] + 1
    # Answered: in progress, or done when the draft the ranking put first already gives a remedy (a coupon).
    answered = lambda found: sum(found[("kefu_open_cases", (("stage", stage),))] for stage in ("in_progress", "done"))  # noqa: E731
    assert answered(after) == answered(before) + 1
    assert after[("kefu_open_cases", (("stage", "open"),))] == before[("kefu_open_cases", (("stage", "open"),))]
    assert after[("kefu_outbox_deliveries", (("state", "failed"),))] == before[("kefu_outbox_deliveries", (("state", "failed"),))]
    assert after[("kefu_store_up", ())] == 1 and after[("kefu_events_up", ())] == 1
    assert ready(stack.console_url)[0] == 200

    # One line per event, with the case and the conversation: opened by the action, decided and
    # delivered in the console; the access log shows the approval without the agent's token.
    logs = stack.env["KEFU_DATA_DIR"]
    actions_log = Path(logs, "logs", "actions.log").read_text(encoding="utf-8")
    console_log = Path(logs, "logs", "console.log").read_text(encoding="utf-8")
    assert f"case_opened case={case['id']} conversation={sender} by=action concern=delivery_delay" in actions_log
    assert f"decision case={case['id']} conversation={sender} kind=approve agent=test-agent" in console_log
    assert f"delivered case={case['id']} conversation={sender} delivery=" in console_log
    assert f"POST {stack.console_url}/api/cases/{case['id']}/approve → 201" in console_log
    assert agent_token not in console_log and stack.secret not in console_log + actions_log
