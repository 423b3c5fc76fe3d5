"""The production configuration: PostgreSQL tracker store, event broker and suggestion store,
Redis lock store — and two Rasa servers serving one conversation through them."""
from __future__ import annotations

import time
import uuid

import pytest
import requests
import yaml

from kefu_rasa.dev.servers import free_port, start_stack

pytestmark = pytest.mark.slow


def test_tracker_store_and_event_broker_in_one_database_is_refused(tmp_path):
    from kefu_rasa.dev.servers import write_endpoints

    pg = {"type": "SQL", "dialect": "postgresql", "url": "db.internal", "port": 5432, "db": "rasa"}
    source = tmp_path / "endpoints.yml"
    source.write_text(yaml.safe_dump({"tracker_store": pg, "event_broker": pg}), encoding="utf-8")
    with pytest.raises(ValueError, match="both name their table `events`"):
        write_endpoints(source, tmp_path / "out.yml", "http://127.0.0.1:1/webhook", tmp_path)


def test_two_rasa_servers_share_postgres_and_redis(trained_model, postgres, redis, tmp_path):
    from kefu_rasa.dev.production import production_endpoints, production_env

    source = production_endpoints(postgres, redis, tmp_path / "endpoints.yml")
    env = production_env(postgres, tmp_path)
    secret = uuid.uuid4().hex
    first = start_stack(trained_model, tmp_path / "one", data_dir=tmp_path / "data", endpoints_source=source,
                        rasa_port=free_port(), actions_port=free_port(), console_port=free_port(), secret=secret, extra_env=env)
    try:
        # A second Rasa server (another "instance") on the same stores, no console of its own.
        second = start_stack(trained_model, tmp_path / "two", data_dir=tmp_path / "data", endpoints_source=source,
                             rasa_port=free_port(), actions_port=free_port(), console_port=None, secret=secret, extra_env=env)
        try:
            sender = f"pg-{uuid.uuid4()}"

            def say(stack, text):
                r = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
                assert r.status_code == 200
                return [m.get("text", "") for m in r.json()]

            assert any("您好" in t for t in say(first, "你好"))
            assert say(second, "我要投诉，东西是坏的，客服也不理人")  # holding message from the other server
            from assist.store import SuggestionStore

            store = SuggestionStore(env["KEFU_STORE_URL"])
            case = store.cases.open_case_for(sender)
            assert case and case["intent"] == "complaint"
            assert say(first, "人呢") == []  # paused: the first server knows, through the shared tracker
            agent = store.agents.create_agent("pg-agent")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and len([m for m in store.cases.get_case(case["id"])["messages"] if m["sender"] == "customer"]) < 2:
                time.sleep(0.2)  # the console follows the PostgreSQL event stream
            detail = store.cases.get_case(case["id"])
            assert [m["text"] for m in detail["messages"] if m["sender"] == "customer"] == ["我要投诉，东西是坏的，客服也不理人", "人呢"]
            r = requests.post(f"{first.console_url}/api/cases/{case['id']}/resolve", headers={"Authorization": f"Bearer {agent}"}, timeout=20)
            assert r.status_code == 200
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and store.cases.get_case(case["id"])["deliveries"][-1]["state"] != "delivered":
                time.sleep(0.2)
            assert any("您好" in t for t in say(second, "你好"))  # the bot answers again, on either server
            events = requests.get(f"{second.rasa_url}/conversations/{sender}/tracker", headers=second.rasa_auth(), timeout=20).json()["events"]
            assert [e["text"] for e in events if e["event"] == "user"] == ["你好", "我要投诉，东西是坏的，客服也不理人", "人呢", "你好"]
        finally:
            second.stop()
    finally:
        first.stop()
