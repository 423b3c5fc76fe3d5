"""Two consoles on one store (the production profile): both follow Rasa's event stream, so the race
is real — exactly one opens each case and sends its holding message, both queues agree, and two
agents approving the same draft through different consoles send it once."""
from __future__ import annotations

import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from assist.store import SuggestionStore
from kefu_rasa.dev.servers import ROOT, free_port, start_stack, wait_until
from kefu_rasa.dev.supervisor import spawn_process, stop_process

pytestmark = pytest.mark.slow


def test_two_consoles_open_each_case_once_and_agree(trained_model, postgres, redis, tmp_path):
    names = f"kefu_{uuid.uuid4().hex[:8]}"  # databases of this test's own: the followers start at the stream's beginning
    env = {
        "KEFU_PROFILE": "production", "KEFU_POSTGRES_URL": postgres["url"], "KEFU_REDIS_URL": f"redis://127.0.0.1:{redis}/4",
        "KEFU_STORE_URL": f"{postgres['url']}/{names}_suggestions", "KEFU_EVENTS_URL": f"{postgres['url']}/{names}_events",
        "KEFU_TRACKER_URL": f"{postgres['url']}/{names}_tracker", "KEFU_RASA_JWT_SECRET": uuid.uuid4().hex * 2,
        "KEFU_ORDERS": f"sqlite:///{tmp_path / 'orders.db'}", "KEFU_FOLLOW_EVENTS": "on",
    }
    stack = start_stack(trained_model, tmp_path / "one", data_dir=tmp_path / "data", rasa_port=free_port(),
                        actions_port=free_port(), console_port=free_port(), extra_env=env)
    second_port = free_port()
    log = open(tmp_path / "console-b.log", "w", encoding="utf-8")
    second = spawn_process([sys.executable, "-m", "console", "serve"], dict(stack.env, KEFU_CONSOLE_PORT=str(second_port)), ROOT, log)
    consoles = [stack.console_url, f"http://127.0.0.1:{second_port}"]
    try:
        assert wait_until(lambda: _answers(f"{consoles[1]}/health"), timeout=60), (tmp_path / "console-b.log").read_text()
        # The action server is down: no action opens the cases, both consoles' followers race to.
        stack.stop_one("actions")
        senders = [f"two-{i}-{uuid.uuid4().hex[:6]}" for i in range(6)]

        def complain(sender):
            r = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", timeout=60,
                              json={"sender": sender, "message": "快递丢了一个星期没人管，我要投诉"})
            assert r.status_code == 200

        with ThreadPoolExecutor(len(senders)) as pool:
            list(pool.map(complain, senders))
        store = SuggestionStore(env["KEFU_STORE_URL"])
        assert wait_until(lambda: all(store.cases.open_case_for(s) for s in senders), timeout=60)
        engine = sa.create_engine(env["KEFU_STORE_URL"])
        try:
            def holdings():
                with engine.connect() as db:
                    return dict(db.execute(sa.text(
                        "SELECT c.conversation_id, count(o.id) FROM kefu_cases c LEFT JOIN kefu_deliveries o "
                        "ON o.case_id = c.id AND o.kind = 'holding' GROUP BY c.conversation_id")).all())
            # Each conversation: one case, one holding message (the outbox's once-keys), never two.
            assert wait_until(lambda: (h := holdings()) and all(h.get(s) == 1 for s in senders) and h, timeout=30)
            time.sleep(2)  # both followers have long passed these events
            with engine.connect() as db:
                counts = dict(db.execute(sa.text("SELECT conversation_id, count(*) FROM kefu_cases GROUP BY conversation_id")).all())
            assert {s: counts[s] for s in senders} == {s: 1 for s in senders}
            assert all(holdings()[s] == 1 for s in senders)
        finally:
            engine.dispose()

        alice, bo = store.agents.create_agent("alice-two"), store.agents.create_agent("bo-two")
        queues = [_queue(url, alice) for url in consoles]
        assert [_seen(q) for q in queues][0] == _seen(queues[1]) and set(senders) <= {c["conversation_id"] for c in queues[0]}

        # Two agents, two consoles, the same draft at the same moment: one decision, one delivery.
        case = next(c for c in queues[0] if c["conversation_id"] == senders[0])
        detail = requests.get(f"{consoles[0]}/api/cases/{case['id']}", headers=_auth(alice), timeout=20).json()
        draft = detail["drafts"][0]
        answers = []

        def approve(url, token):
            answers.append(requests.post(f"{url}/api/cases/{case['id']}/approve", headers=_auth(token), timeout=20,
                                         json={"draft_id": draft["id"], "batch": detail["batch"]}))

        threads = [threading.Thread(target=approve, args=pair) for pair in zip(consoles, (alice, bo))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.status_code for r in answers) == [201, 409]

        def sent_texts():
            events = requests.get(f"{stack.rasa_url}/conversations/{senders[0]}/tracker", headers=stack.rasa_auth(), timeout=20).json()["events"]
            return [e.get("text") for e in events if e["event"] == "bot"]
        assert wait_until(lambda: draft["text"] in sent_texts(), timeout=30)
        time.sleep(2)  # both consoles' outboxes have had their chance to send it again
        assert sent_texts().count(draft["text"]) == 1
        assert _seen(_queue(consoles[0], alice)) == _seen(_queue(consoles[1], bo))
    finally:
        stop_process(second, 15)
        log.close()
        stack.stop()


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _answers(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _queue(url, token):
    return requests.get(f"{url}/api/cases", headers=_auth(token), timeout=20).json()["cases"]


def _seen(queue):
    """What an agent sees of the queue: which cases, in which order, at which batch of drafts."""
    return [(c["id"], c["conversation_id"], c.get("batch")) for c in queue]
