"""Two consoles on one suggestion store (issue 20, trap 5): the migrate step started twice at once
runs the migrations once; two consoles that both follow Rasa's event stream open exactly one case
per conversation (the store's unique keys: one open case per conversation, a message once per case),
and both show the same queue.

Real PostgreSQL (the session's server, fresh databases per test), real `python -m console` processes,
and Rasa's own SQL event broker table written the way Rasa's broker writes it (no Rasa needed: the
consoles only read it). Both consoles follow, as the README allows. The last test runs the whole
production profile: Rasa, the action server (stopped, so both followers race to open the cases) and
two consoles, with two agents approving the same draft through different consoles."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from assist.store import SuggestionStore
from assist.store.migrate import head_revision
from kefu_rasa.dev.production import profile_env
from kefu_rasa.dev.servers import ROOT, free_port, start_stack, wait_until
from kefu_rasa.dev.supervisor import spawn_process, stop_process

pytestmark = pytest.mark.slow


def fresh_database(server_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", f"{server_url}/postgres", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return f"{server_url}/{name}"


def console_env(tmp_path, store_url: str, **extra: str) -> dict:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", KEFU_STORE_URL=store_url, KEFU_DATA_DIR=str(tmp_path / "data"),
               KEFU_RASA_URL=f"http://127.0.0.1:{free_port()}", KEFU_RASA_JWT_SECRET=uuid.uuid4().hex)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))  # the child's copy
    env.update(extra)
    return env


def test_two_migrate_steps_started_together_migrate_once(postgres, tmp_path):
    store_url = fresh_database(postgres["url"], "suggestions")
    env = console_env(tmp_path, store_url)
    steps = [subprocess.Popen([sys.executable, "-m", "console", "migrate"], env=env, cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [step.communicate(timeout=180) for step in steps]
    # Had both run the migrations, the second's CREATE TABLE would have failed (and exited non-zero).
    assert [step.returncode for step in steps] == [0, 0], results
    assert all(f"at {head_revision()}" in out for out, _ in results)
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as db:
            assert db.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    finally:
        engine.dispose()


def rasa_turn(sender: str, text: str, message_id: str):
    """What Rasa's broker publishes for a complaint the handoff action answered and paused."""
    yield {"event": "user", "text": text, "message_id": message_id, "input_channel": "rest",
           "parse_data": {"intent": {"name": "complaint", "confidence": 0.95}, "entities": [],
                          "intent_ranking": [{"name": "complaint", "confidence": 0.95}]}}
    yield {"event": "action", "name": "action_handoff"}
    yield {"event": "bot", "text": "非常抱歉给您添麻烦了，已为您转接人工客服，请稍等"}
    yield {"event": "pause"}
    yield {"event": "action", "name": "action_listen"}


@pytest.fixture
def two_consoles(postgres, tmp_path):
    store_url, events_url = fresh_database(postgres["url"], "suggestions"), fresh_database(postgres["url"], "events")
    from rasa.core.brokers.sql import SQLEventBroker

    host, port = postgres["url"].rsplit("@", 1)[1].split(":")
    SQLEventBroker(dialect="postgresql", host=host, port=int(port), db=events_url.rsplit("/", 1)[1],
                   username="kefu").engine.dispose()  # Rasa's own table
    SuggestionStore.migrated(store_url)
    consoles = []
    for n in range(2):
        port = free_port()
        env = console_env(tmp_path / f"c{n}", store_url, KEFU_EVENTS_URL=events_url, KEFU_FOLLOW_EVENTS="on",
                          KEFU_CONSOLE_PORT=str(port))
        log = open(tmp_path / f"console{n}.log", "w", encoding="utf-8")
        process = subprocess.Popen([sys.executable, "-m", "console", "serve"], env=env, cwd=ROOT, stdout=log, stderr=log)
        consoles.append((f"http://127.0.0.1:{port}", process, log))

    def up(url):
        try:
            return requests.get(f"{url}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        for url, process, _ in consoles:
            assert wait_until(lambda: up(url) or process.poll() is not None, timeout=90) and process.poll() is None, \
                (tmp_path / "console0.log").read_text() + (tmp_path / "console1.log").read_text()
        yield [url for url, _, _ in consoles], store_url, events_url
    finally:
        for _, process, log in consoles:
            process.terminate()
            process.wait(20)
            log.close()


def test_two_following_consoles_open_each_case_once_and_agree_on_the_queue(two_consoles):
    urls, store_url, events_url = two_consoles
    senders = [f"two-{n}-{uuid.uuid4().hex[:6]}" for n in range(12)]
    engine = sa.create_engine(events_url)
    try:
        for n, sender in enumerate(senders):
            for event in rasa_turn(sender, f"第{n}位顾客：东西坏了，我要投诉", f"m-{sender}"):
                with engine.begin() as db:  # one insert and commit per event, as Rasa's SQL broker does
                    db.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"),
                               {"s": sender, "d": json.dumps(dict(event, sender_id=sender), ensure_ascii=False)})
    finally:
        engine.dispose()
    store = SuggestionStore(store_url)
    assert wait_until(lambda: all(store.cases.open_case_for(s) for s in senders), timeout=60)
    with store.engine.connect() as db:
        counts = dict(db.execute(sa.text("SELECT conversation_id, count(*) FROM kefu_cases GROUP BY conversation_id")).all())
    assert counts == {sender: 1 for sender in senders}
    for n, sender in enumerate(senders):
        messages = store.cases.get_case(store.cases.open_case_for(sender)["id"])["messages"]
        assert [m["text"] for m in messages if m["sender"] == "customer"] == [f"第{n}位顾客：东西坏了，我要投诉"]
    token = store.agents.create_agent("two-consoles-supervisor", role="supervisor")

    def queue(url):
        answer = requests.get(f"{url}/api/cases", headers={"Authorization": f"Bearer {token}"}, timeout=20)
        assert answer.status_code == 200, answer.text
        return [case["id"] for case in answer.json()["cases"]]

    first, second = queue(urls[0]), queue(urls[1])
    assert first == second and len(first) == len(senders)


def test_two_consoles_on_the_production_profile_race_for_cases_and_approvals(trained_model, postgres, redis, tmp_path):
    names = f"kefu_{uuid.uuid4().hex[:8]}"  # databases of this test's own: the followers start at the stream's beginning
    env = dict(profile_env(postgres, redis, tmp_path, redis_db=4, store=f"{names}_suggestions", events=f"{names}_events",
                           tracker=f"{names}_tracker"), KEFU_FOLLOW_EVENTS="on")
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
