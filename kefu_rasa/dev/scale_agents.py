"""The agents of the scale-out proof, and the watcher that times message → case.

Agents work through the console HTTP API, some on each console at once: each reads its console's
queue, opens a case and approves the top draft of its current batch. Two agents may approve the
same batch at the same moment; one gets 201, the other 409 (that is the point). A console that is
down or answers 503 is tried again, as an agent's page would.

The watcher reads the suggestion store every POLL_SECONDS and notes when each customer message first
appears in a case (a case with drafts: the message and its drafts are written in one transaction).
"""
from __future__ import annotations

import threading
from collections import Counter
import time
import uuid
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import requests
import sqlalchemy as sa

from assist.store import SuggestionStore
from assist.store.schema import cases, messages

POLL_SECONDS = 0.05


@dataclass
class Approval:
    conversation_id: str
    case_id: str
    batch: int
    decision_id: int
    text: str
    asked_at: float  # monotonic, just before the approve request
    console: str


class Agents:
    """`per_console` agents on every console, approving until `stop` is set."""

    def __init__(self, console_urls: List[str], store_url: str, per_console: int = 2, think: float = 0.3,
                 resolve: bool = False):
        store = SuggestionStore(store_url)
        self.agents = [(url, store.agents.create_agent(f"scale-{i}-{n}-{uuid.uuid4().hex[:4]}"))
                       for i, url in enumerate(console_urls) for n in range(per_console)]
        self.think, self.resolve = think, resolve  # resolve: each approval also closes the case (the bot resumes)
        self.approvals: List[Approval] = []
        self.answers: Counter = Counter()  # every answer but 201: "409 already_handled" …
        self.conflicts = 0        # 409: another agent had decided, or the customer wrote again
        self.unavailable = 0      # the console was down or answered 503
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: List[threading.Thread] = []

    def start(self) -> None:
        for url, token in self.agents:
            thread = threading.Thread(target=self._work, args=(url, token), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self, timeout: float = 30) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)

    def _work(self, url: str, token: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        tried: set = set()
        while not self.stop.is_set():
            try:
                queue = session.get(f"{url}/api/cases", timeout=30)
                if queue.status_code != 200:
                    raise requests.ConnectionError(f"queue answered {queue.status_code}")
                for case in queue.json()["cases"]:
                    if self.stop.is_set():
                        break
                    if case["batch"] and (case["id"], case["batch"]) not in tried:
                        tried.add((case["id"], case["batch"]))
                        self._approve(session, url, case["id"])
            except (requests.RequestException, ValueError, KeyError):
                with self.lock:
                    self.unavailable += 1
                time.sleep(1)
            time.sleep(self.think)

    def _approve(self, session: requests.Session, url: str, case_id: str) -> None:
        detail = session.get(f"{url}/api/cases/{case_id}", timeout=30)
        if detail.status_code != 200:
            raise requests.ConnectionError(f"case answered {detail.status_code}")
        case = detail.json()
        if case["state"] != "open":
            return
        key = f"scale-{uuid.uuid4()}"
        if case["drafts"]:
            route, text = "approve", case["drafts"][0]["text"]
            body = {"draft_id": case["drafts"][0]["id"], "batch": case["batch"], "idempotency_key": key, "resolve": self.resolve}
        else:  # nothing to offer (every variant rejected, or none fits): the agent writes the reply
            route, text = "edit", f"您好，您的问题我们已经记下了，正在为您处理，请稍等（{case['batch']}）。"
            body = {"text": text, "batch": case["batch"], "idempotency_key": key, "resolve": self.resolve, "override": True}
        for _ in range(20):  # the same request again while the console is down or the store refuses
            asked_at = time.monotonic()
            try:
                response = session.post(f"{url}/api/cases/{case_id}/{route}", json=body, timeout=30)
            except requests.RequestException:
                response = None
            if response is not None and response.status_code == 201:
                with self.lock:
                    self.approvals.append(Approval(case["conversation_id"], case_id, case["batch"],
                                                   response.json()["decision"]["id"], text, asked_at, url))
                return
            if response is not None:
                self.answers[_answer(response)] += 1
            if response is not None and response.status_code in (409, 404):
                with self.lock:
                    self.conflicts += 1
                return
            with self.lock:
                self.unavailable += 1
            time.sleep(1)


def _answer(response: requests.Response) -> str:
    try:
        return f"{response.status_code} {response.json()['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)


class CaseWatcher:
    """When each (conversation, customer text) first appeared in a case, from the store."""

    def __init__(self, store_url: str):
        self.engine = SuggestionStore(store_url).engine
        self.seen: Dict[Tuple[str, str], float] = {}
        self.last_new = time.monotonic()  # when a customer message last appeared in a case
        self.errors = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.floor = 0

    def start(self) -> "CaseWatcher":
        self.thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(10)

    def _watch(self) -> None:
        while not self.stop.is_set():
            at = time.monotonic()
            try:
                self._poll(at)
            except Exception:  # noqa: BLE001 — a store restart is one of the faults; keep watching
                self.errors += 1
                time.sleep(0.5)
            time.sleep(POLL_SECONDS)

    def _poll(self, at: float) -> None:
        # A window below the highest id seen: rows committed out of id order are still found.
        query = (sa.select(messages.c.id, cases.c.conversation_id, messages.c.text)
                 .join(cases, cases.c.id == messages.c.case_id)
                 .where(messages.c.sender == "customer", messages.c.id > self.floor - 2000))
        with self.engine.connect() as db:
            rows = db.execute(query).all()
        for row in rows:
            if (row.conversation_id, row.text) not in self.seen:
                self.seen[(row.conversation_id, row.text)] = self.last_new = at
            self.floor = max(self.floor, row.id)

    def arrival(self, conversation_id: str, text: str) -> Optional[float]:
        return self.seen.get((conversation_id, text))
