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
bench/RESULTS.md); the customers, the agent and the verdict are kefu_rasa/dev/fault_harness.py.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Callable, Dict, Optional

import yaml

from kefu_rasa.dev.callback_inbox import CallbackInbox
from kefu_rasa.dev.fault_harness import HEADER, SILENCE_LIMIT, Harness, Row  # noqa: F401 (the tests and the bench use them)
from kefu_rasa.dev.model_cache import ROOT
from kefu_rasa.dev.servers import Stack, free_port, start_stack
from kefu_rasa.dev.web_customer import WebCustomer

# Short timeouts so the whole matrix takes minutes: the console gives Rasa 2 s, Rasa gives the
# action server 4 s, a locked store fails a write after 1 s, retries back off to at most 2 s.
FAULT_ENV = {
    "KEFU_HTTP_TIMEOUT": "2",
    "KEFU_ACTION_TIMEOUT_SECONDS": "4",
    "KEFU_HANDOFF_DEADLINE_SECONDS": "2.5",
    "KEFU_CALLBACK_TIMEOUT_SECONDS": "2",
    "KEFU_CALLBACK_SWEEP_AFTER_SECONDS": "6",
    "KEFU_STORE_LOCK_SECONDS": "1",
    "KEFU_RETRY_MAX_SECONDS": "2",
    "KEFU_WORKER_BACKOFF_MAX_SECONDS": "1",
    "KEFU_WAIT_UPDATE_SECONDS": "600",
}


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
    h.notes.append(f"messages seen {holding} (Rasa's fallback, holding + reply each)")


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
        rasa_port=free_port(), actions_port=free_port(), console_port=free_port(), secret=uuid.uuid4().hex,
        extra_env=FAULT_ENV,
    )
