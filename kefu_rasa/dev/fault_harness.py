"""The harness behind the fault matrix (kefu_rasa/dev/faults.py): fresh customers on both channels,
an agent approving through the console API, the processes stopped, killed and restarted, the store
made read-only, and the verdict — every approved reply seen once, no case lost, nobody silent.

Processes are stopped with SIGSTOP/SIGCONT and killed with SIGKILL on their process group; the
store is made read-only by holding its SQLite write lock (as root, chmod does not stop a write).
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
from typing import List, Optional, Tuple

import requests

from assist.store import SuggestionStore
from kefu_rasa.dev.callback_inbox import CallbackInbox
from kefu_rasa.dev.servers import Stack, wait_until
from kefu_rasa.dev.web_customer import WebCustomer

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
