"""The fault matrix: the agent-assist loop on the real processes while one of them fails.

Each fault runs with fresh customers — one on the web chat's socket.io channel, one on Rasa's
callback channel — whose complaints open cases that an agent approves through the console API.
What is measured, per fault:
- approved: replies approved; seen once: replies each customer saw exactly once (after the
  client dropped an id it had shown); duplicates seen: extra copies a customer saw; dropped by id:
  copies that reached a client again and were dropped by their delivery id; lost: never seen;
- cases lost: complaints with no case; longest silence: the longest a complaining customer waited
  for a first answer (the holding message).

Used by tests/integration/test_faults.py (one test per fault) and bench/faults.py (the table in
bench/RESULTS.md). Processes are stopped with SIGSTOP/SIGCONT and killed with SIGKILL on their
process group; the store is made read-only by holding its SQLite write lock (as root, chmod does
not stop a write).
"""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import requests
import yaml

from assist.store import SuggestionStore
from kefu_rasa.dev.callback_inbox import CallbackInbox
from kefu_rasa.dev.model_cache import ROOT
from kefu_rasa.dev.servers import Stack, free_port, start_stack, wait_until
from kefu_rasa.dev.web_customer import WebCustomer

# Short timeouts so the whole matrix takes minutes: the console gives Rasa 2 s, Rasa gives the
# action server 4 s, a locked store fails a write after 1 s, retries back off to at most 2 s.
FAULT_ENV = {
    "KEFU_HTTP_TIMEOUT": "2",
    "KEFU_ACTION_TIMEOUT_SECONDS": "4",
    "KEFU_HANDOFF_DEADLINE_SECONDS": "2.5",
    "KEFU_CALLBACK_TIMEOUT_SECONDS": "2",
    "KEFU_STORE_LOCK_SECONDS": "1",
    "KEFU_RETRY_MAX_SECONDS": "2",
    "KEFU_WORKER_BACKOFF_MAX_SECONDS": "1",
    "KEFU_WAIT_UPDATE_SECONDS": "600",
}
COMPLAINTS = [
    "我要投诉，你们客服态度太差了，问三遍都不回",
    "快递一周了还没到，订单号 1234567890，到底怎么回事",
    "东西收到就是坏的，我要退款！！",
    "退款申请一个礼拜了还没到账，到底怎么回事",
]
SILENCE_LIMIT = 10.0
GRACE_SECONDS = 3.0  # after the last reply arrived, how long duplicates may still come


@dataclass
class Customer:
    channel: str                       # socketio | callback
    conversation_id: str
    web: Optional[WebCustomer] = None
    asked: List[Tuple[float, str]] = field(default_factory=list)


@dataclass
class Row:
    fault: str
    approved: int = 0
    seen_once: int = 0
    duplicates_seen: int = 0
    dropped_by_id: int = 0
    lost: int = 0
    cases_lost: int = 0
    longest_silence: float = 0.0
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.seen_once == self.approved and not self.duplicates_seen and not self.lost and not self.cases_lost
                and self.longest_silence <= SILENCE_LIMIT)

    def line(self) -> str:
        return (f"| {self.fault} | {self.seen_once}/{self.approved} | {self.duplicates_seen} | {self.dropped_by_id} | {self.lost} "
                f"| {self.cases_lost} | {self.longest_silence:.1f} | {'; '.join(self.notes)} |")


HEADER = ("| fault | seen once / approved | duplicates seen | dropped by id | lost | cases lost | longest silence (s) | notes |\n"
          "|---|---:|---:|---:|---:|---:|---:|---|")


class Harness:
    def __init__(self, stack: Stack, inbox: CallbackInbox, agent_token: str):
        self.stack, self.inbox = stack, inbox
        self.store = SuggestionStore(stack.store_url)
        self.headers = {"Authorization": f"Bearer {agent_token}"}
        self.pool = ThreadPoolExecutor(max_workers=8)
        self.customers: List[Customer] = []
        self.approved: List[Tuple[Customer, str]] = []
        self.notes: List[str] = []
        self.refused_503 = 0

    # ---- the processes -------------------------------------------------------------------------
    def _signal(self, name: str, sig: int) -> None:
        os.killpg(self.stack.processes[name].pid, sig)

    def pause(self, name: str) -> None:
        self._signal(name, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self._signal(name, signal.SIGCONT)

    def kill(self, name: str) -> None:
        self._signal(name, signal.SIGKILL)
        self.stack.processes[name].wait(30)

    def restart(self, name: str) -> None:
        self.stack.start(name, timeout=180)

    def heal(self) -> None:
        """Whatever a fault left behind: everything running again."""
        for name, proc in self.stack.processes.items():
            if proc.poll() is None:
                try:
                    self._signal(name, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            else:
                self.restart(name)

    @contextmanager
    def store_locked(self):
        """The suggestion store read-only: another connection holds its write lock."""
        db = sqlite3.connect(self.stack.store_url[len("sqlite:///"):], isolation_level=None, timeout=30)
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")
            db.close()

    def lock_store_for(self, seconds: float) -> threading.Thread:
        def hold():
            with self.store_locked():
                time.sleep(seconds)

        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        time.sleep(0.2)  # the lock is held before the caller goes on
        return thread

    # ---- the customers ---------------------------------------------------------------------------
    def web_customer(self) -> Customer:
        web = WebCustomer(self.stack.rasa_url)
        customer = Customer("socketio", web.session_id, web=web)
        self.customers.append(customer)
        return customer

    def callback_customer(self) -> Customer:
        customer = Customer("callback", f"cb-{uuid.uuid4()}")
        self.customers.append(customer)
        return customer

    def complain(self, customer: Customer, text: Optional[str] = None) -> None:
        text = text or COMPLAINTS[len(self.customers) % len(COMPLAINTS)]
        customer.asked.append((time.monotonic(), text))
        if customer.web is not None:
            customer.web.say(text)
        else:
            # Rasa answers the webhook after the turn; the customer's words are sent now.
            self.pool.submit(requests.post, f"{self.stack.rasa_url}/webhooks/callback/webhook",
                             json={"sender": customer.conversation_id, "message": text}, timeout=60)

    def complaining_pair(self) -> Tuple[Customer, Customer]:
        web, callback = self.web_customer(), self.callback_customer()
        self.complain(web)
        self.complain(callback)
        return web, callback

    def opened_pair(self) -> Tuple[Customer, Customer]:
        """Two customers (socket.io, callback) whose complaints have been answered and are cases."""
        pair = self.complaining_pair()
        for customer in pair:
            wait_until(lambda: self.first_answer(customer, customer.asked[0][0]), timeout=30)
            self.case_of(customer, timeout=30)
        return pair

    def shown(self, customer: Customer) -> List[Tuple[float, str]]:
        if customer.web is not None:
            with customer.web.lock:
                return [(at, text) for at, text, _ in customer.web.shown]
        with self.inbox.lock:
            return list(self.inbox.received[customer.conversation_id])

    def first_answer(self, customer: Customer, after: float) -> Optional[float]:
        return next((at for at, _ in self.shown(customer) if at >= after), None)

    def case_of(self, customer: Customer, timeout: float = 30) -> Optional[dict]:
        return wait_until(lambda: self.store.cases.latest_case_for(customer.conversation_id), timeout=timeout, interval=0.2)

    # ---- the agent --------------------------------------------------------------------------------
    def approve(self, *customers: Customer, timeout: float = 40) -> None:
        for customer in customers:
            case = self.case_of(customer)
            if case is None:
                raise AssertionError(f"no case for {customer.conversation_id} to approve")
            detail = self.store.cases.get_case(case["id"])
            draft = detail["drafts"][0]
            body = {"draft_id": draft["id"], "batch": detail["batch"], "idempotency_key": f"fault-{uuid.uuid4()}"}
            deadline = time.monotonic() + timeout
            while True:
                response = requests.post(f"{self.stack.console_url}/api/cases/{case['id']}/approve", json=body,
                                         headers=self.headers, timeout=20)
                if response.status_code == 201:
                    break
                if response.status_code == 503 and response.json()["error"]["code"] == "store_unavailable":
                    self.refused_503 += 1  # the agent's page says so; the agent tries again
                elif time.monotonic() > deadline or response.status_code != 503:
                    raise AssertionError(f"approve answered {response.status_code}: {response.text[:300]}")
                time.sleep(0.5)
            self.approved.append((customer, draft["text"]))

    def wait_attempted(self, *customers: Customer, timeout: float = 20) -> None:
        """Until the outbox has started pushing each customer's approved reply."""
        for customer in customers:
            case_id = self.case_of(customer)["id"]
            wait_until(lambda: any(d["kind"] == "agent" and d["attempts"] >= 1
                                   for d in self.store.cases.get_case(case_id)["deliveries"]), timeout=timeout)

    def wait_delivered(self, *customers: Customer, timeout: float = 30) -> None:
        for customer in customers:
            case_id = self.case_of(customer)["id"]
            wait_until(lambda: any(d["kind"] == "agent" and d["state"] == "delivered"
                                   for d in self.store.cases.get_case(case_id)["deliveries"]), timeout=timeout)

    # ---- the verdict ------------------------------------------------------------------------------
    def verdict(self, fault: str, timeout: float = 90) -> Row:
        row = Row(fault, approved=len(self.approved))
        wait_until(lambda: all(any(t == text for _, t in self.shown(c)) for c, text in self.approved), timeout=timeout, interval=0.2)
        time.sleep(GRACE_SECONDS)
        for customer, text in self.approved:
            count = sum(1 for _, t in self.shown(customer) if t == text)
            row.seen_once += count == 1
            row.duplicates_seen += max(0, count - 1)
            row.lost += count == 0
        for customer in self.customers:
            if customer.web is not None:
                row.dropped_by_id += customer.web.dropped
            else:
                with self.inbox.lock:
                    row.dropped_by_id += len(self.inbox.raw[customer.conversation_id]) - len(self.inbox.received[customer.conversation_id])
            for asked_at, text in customer.asked:
                case = wait_until(lambda: self._case_with(customer, text), timeout=30, interval=0.2)
                row.cases_lost += case is None
                answered = self.first_answer(customer, asked_at)
                row.longest_silence = max(row.longest_silence, (answered or time.monotonic()) - asked_at)
        if self.refused_503:
            row.notes.append(f"approve answered 503 store_unavailable ×{self.refused_503}, then 201")
        row.notes += self.notes
        return row

    def _case_with(self, customer: Customer, text: str) -> bool:
        case = self.store.cases.latest_case_for(customer.conversation_id)
        return bool(case) and any(m["sender"] == "customer" and m["text"] == text
                                  for m in self.store.cases.get_case(case["id"])["messages"])

    def close(self) -> None:
        for customer in self.customers:
            if customer.web is not None:
                customer.web.close()
        self.pool.shutdown(wait=False)


# ---- the faults ---------------------------------------------------------------------------------------
def rasa_killed(h: Harness) -> None:
    """kill -9 of Rasa before the approvals; the outbox waits, Rasa comes back, clients reconnect."""
    pair = h.opened_pair()
    h.kill("rasa")
    h.approve(*pair)
    started = time.monotonic()
    h.restart("rasa")
    h.notes.append(f"Rasa restarted in {time.monotonic() - started:.0f} s")


def rasa_stalled(h: Harness) -> None:
    """Rasa stopped (SIGSTOP) 7 s while the replies are pushed: the console's 2 s timeout fires."""
    pair = h.opened_pair()
    h.pause("rasa")
    try:
        h.approve(*pair)
        h.wait_attempted(*pair)
        time.sleep(7)
    finally:
        h.resume("rasa")


def actions_killed(h: Harness) -> None:
    """kill -9 of the action server; complaints arrive while it is down."""
    h.kill("actions")
    try:
        pair = h.complaining_pair()
        h.approve(*pair)
    finally:
        h.restart("actions")


def actions_hung(h: Harness) -> None:
    """The action server stopped (SIGSTOP) 9 s; complaints arrive meanwhile and Rasa gives up after 4 s."""
    h.pause("actions")
    try:
        pair = h.complaining_pair()
        for customer in pair:
            h.case_of(customer)
        h.approve(*pair)
        time.sleep(max(0.0, 9 - (time.monotonic() - pair[0].asked[0][0])))
    finally:
        h.resume("actions")
    time.sleep(2)  # the late action answers into the void: no second holding message, no second case
    holding = [len(h.shown(c)) for c in pair]
    h.notes.append(f"messages seen {holding} (holding + reply each)")


def console_killed_mid_push(h: Harness) -> None:
    """kill -9 of the console while its pushes hang in a stopped Rasa; then both come back."""
    pair = h.opened_pair()
    h.pause("rasa")
    try:
        h.approve(*pair)
        h.wait_attempted(*pair)
        h.kill("console")
    finally:
        h.resume("rasa")
    h.restart("console")


def console_stopped(h: Harness) -> None:
    """The console stopped (SIGSTOP) 6 s: no follower, no outbox; complaints arrive meanwhile."""
    h.pause("console")
    try:
        pair = h.complaining_pair()
        time.sleep(6)
    finally:
        h.resume("console")
    h.approve(*pair)


def store_read_only(h: Harness) -> None:
    """The suggestion store read-only (write lock held) 5 s: approvals and complaints meanwhile."""
    opened = h.opened_pair()
    log = h.stack.logs["console"]
    before = log.stat().st_size
    lock = h.lock_store_for(5)
    complaining = h.complaining_pair()
    h.approve(*opened)  # 503 store_unavailable until the store is back
    lock.join()
    h.approve(*complaining)
    h.notes.append(f"console log +{(log.stat().st_size - before) / 1024:.1f} KB during the outage")


def resend_loop(h: Harness) -> None:
    """Rasa stopped → approve → store read-only 5 s → Rasa resumed (the probe that got 41 copies)."""
    pair = h.opened_pair()
    h.pause("rasa")
    try:
        h.approve(*pair)
        h.wait_attempted(*pair)
        lock = h.lock_store_for(5)
        time.sleep(1)
    finally:
        h.resume("rasa")
    lock.join()


def callback_refuses(h: Harness) -> None:
    """The callback client answers 503 for 4 s: the reply counts as delivered only once it took it."""
    pair = h.opened_pair()
    h.inbox.refuse(4)
    h.approve(*pair)
    time.sleep(4)
    refused = h.inbox.refused
    h.notes.append(f"{refused} POST{'' if refused == 1 else 's'} refused")


def socket_dropped(h: Harness) -> None:
    """The web customer's socket is gone while the reply is pushed (into an empty room)."""
    web, callback = h.opened_pair()
    web.web.drop()
    time.sleep(1)
    h.approve(web, callback)
    h.wait_delivered(web)
    time.sleep(1)
    web.web.reconnect()


def store_read_only_and_actions_down(h: Harness) -> None:
    """No action server and a read-only store: only the follower can open the case, after the outage."""
    h.kill("actions")
    try:
        lock = h.lock_store_for(5)
        pair = h.complaining_pair()
        lock.join()
        h.approve(*pair)
    finally:
        h.restart("actions")


FAULTS: Dict[str, Callable[[Harness], None]] = {
    "Rasa kill -9 before the approvals": rasa_killed,
    "Rasa SIGSTOP 7 s, past the 2 s client timeout": rasa_stalled,
    "action server kill -9": actions_killed,
    "action server SIGSTOP 9 s (hung)": actions_hung,
    "console kill -9 mid-push": console_killed_mid_push,
    "console SIGSTOP 6 s": console_stopped,
    "store read-only 5 s": store_read_only,
    "Rasa SIGSTOP → approve → store read-only 5 s → Rasa resumed": resend_loop,
    "callback client refuses 4 s": callback_refuses,
    "customer's socket dropped while the reply is sent": socket_dropped,
    "store read-only 5 s with the action server down": store_read_only_and_actions_down,
}


def run_fault(name: str, stack: Stack, inbox: CallbackInbox, agent_token: str) -> Row:
    harness = Harness(stack, inbox, agent_token)
    inbox.refused = 0
    try:
        FAULTS[name](harness)
        return harness.verdict(name)
    finally:
        harness.heal()
        harness.close()


# Control runs (bench/faults.py --control): one protection switched off, to show what it prevents.
CONTROLS = {
    "clients-show-every-copy": "the customers' clients show a message again when its id comes twice",
    "no-catch-up": "the web customer reconnects without kefu_since (no catch-up)",
    "rasa-callback-channel": "Rasa's own callback channel (a refused POST counts as delivered)",
}


def apply_control(control: str) -> None:
    """Switch one protection off in this process (the customers) — or, for the callback channel,
    in the stack `start_fault_stack(..., control=...)` starts."""
    if control == "clients-show-every-copy":
        arrived, take = WebCustomer._arrived, CallbackInbox.take
        WebCustomer._arrived = lambda self, data: arrived(self, dict(data, id=None) if isinstance(data, dict) else data)
        CallbackInbox.take = lambda self, body: take(self, dict(body, id=None))
    elif control == "no-catch-up":
        WebCustomer._request_session = lambda self: self.client.emit("session_request", {"session_id": self.session_id})


def start_fault_stack(model: Path, workdir: Path, inbox: CallbackInbox, control: Optional[str] = None) -> Stack:
    """A stack of its own (the faults are destructive), with short timeouts and the callback
    channel pointed at `inbox`."""
    workdir.mkdir(parents=True, exist_ok=True)
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    channel = "callback" if control == "rasa-callback-channel" else "kefu_rasa.channels.CallbackInput"
    credentials[channel] = {"url": inbox.url}
    (workdir / "credentials.yml").write_text(yaml.safe_dump(credentials), encoding="utf-8")
    return start_stack(
        model, workdir, data_dir=workdir / "data", credentials=workdir / "credentials.yml",
        rasa_port=free_port(), actions_port=free_port(), console_port=free_port(), token=uuid.uuid4().hex,
        extra_env=FAULT_ENV,
    )
