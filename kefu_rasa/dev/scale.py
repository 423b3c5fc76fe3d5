"""The scale-out proof's load run: N conversations × M messages through the cluster while agents on
every console approve, optionally with one fault injected mid-way; then everything is let settle.

    outcome = run_load(cluster, make_conversations(200, 10),          # kefu_rasa/dev/scale_load.py
                       fault=FAULTS["rasa server killed"])             # kefu_rasa/dev/scale_faults.py
    problems = check_all(cluster, outcome)                             # kefu_rasa/dev/scale_checks.py
    close_run(cluster, outcome)                                        # its cases resolved: the next run starts clean

Used by tests/scale/ (the invariants) and bench/scale.py (the figures).
"""
from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import requests
import sqlalchemy as sa

from assist.store import SuggestionStore
from assist.store.schema import callback_posts, cases, decisions, deliveries
from kefu_rasa.dev.scale_agents import Agents, Approval, CaseWatcher
from kefu_rasa.dev.scale_cluster import Cluster
from kefu_rasa.dev.scale_load import Conversation, Customers

SETTLE_SECONDS = 120.0  # after the last message: every batch decided, every reply delivered, or a failure
QUIET_SECONDS = 10.0    # and no customer message joined a case for this long (the follower has caught up)


@dataclass
class FaultWindow:
    name: str
    began: float
    ended: Optional[float] = None
    notes: List[str] = field(default_factory=list)


@dataclass
class Outcome:
    conversations: List[Conversation]
    approvals: List[Approval]
    watcher: CaseWatcher
    seconds: float                         # from the first message to the last one taken
    settled: bool                          # every batch decided and every reply delivered in time
    unsettled: List[str] = field(default_factory=list)  # what was still undone when the wait ended
    windows: List[FaultWindow] = field(default_factory=list)
    conflicts: int = 0
    unavailable: int = 0

    @property
    def messages(self) -> int:
        return sum(len(c.sent) for c in self.conversations)


def _progress(conversations: List[Conversation]) -> float:
    planned = sum(len(c.script) for c in conversations)
    return sum(1 for c in conversations for s in c.sent if s.answered_at) / max(1, planned)


def run_load(cluster: Cluster, conversations: List[Conversation], *,
             pause: Tuple[float, float] = (0.2, 1.0), start_within: float = 5.0,
             fault: Optional[Callable[[Cluster, FaultWindow], None]] = None, fault_name: str = "",
             fault_at: float = 0.3, agents_per_console: int = 2, seed: int = 21) -> Outcome:
    """Every conversation as its own shopper (all at once, started within `start_within` s), with
    `pause` s between a shopper's messages; `fault` runs once `fault_at` of the messages were taken."""
    rng = random.Random(seed)
    rng_lock = threading.Lock()

    def think() -> float:
        with rng_lock:
            return rng.uniform(*pause)

    watcher = CaseWatcher(cluster.store_url).start()
    agents = Agents(cluster.console_urls, cluster.store_url, per_console=agents_per_console)
    agents.start()
    customers = Customers(cluster)
    stop = threading.Event()
    began = time.monotonic()
    shoppers = []
    for i, conversation in enumerate(conversations):
        delay = start_within * i / max(1, len(conversations))
        thread = threading.Thread(target=lambda c=conversation, d=delay: (time.sleep(d), customers.run(c, think, stop)),
                                  daemon=True)
        thread.start()
        shoppers.append(thread)
    windows: List[FaultWindow] = []
    if fault:
        while _progress(conversations) < fault_at and any(t.is_alive() for t in shoppers):
            time.sleep(0.2)
        window = FaultWindow(fault_name or getattr(fault, "__name__", "fault"), time.monotonic())
        windows.append(window)
        try:
            fault(cluster, window)
        finally:
            window.ended = time.monotonic()
    for thread in shoppers:
        thread.join(max(1.0, began + 900 - time.monotonic()))
    stop.set()
    seconds = time.monotonic() - began
    unsettled = _settle(cluster.store_url, [c.conversation_id for c in conversations], watcher)
    agents.finish()
    watcher.finish()
    if unsettled:
        unsettled.append(f"(the agents' answers other than 201: {dict(agents.answers)})")
    return Outcome(conversations, list(agents.approvals), watcher, seconds, not unsettled, unsettled, windows,
                   agents.conflicts, agents.unavailable)


def close_run(cluster: Cluster, outcome: Outcome) -> int:
    """Resolve the run's open cases through the consoles (as agents would), so the next run on the
    same cluster starts with an empty queue (a console lists at most 200 open cases). The number closed."""
    engine = SuggestionStore(cluster.store_url).engine
    with engine.connect() as db:
        open_ids = [row.id for row in db.execute(sa.select(cases.c.id).where(
            cases.c.conversation_id.in_([c.conversation_id for c in outcome.conversations]), cases.c.state == "open"))]
    token = SuggestionStore(cluster.store_url).agents.create_agent("scale-closer")
    urls = cluster.console_urls

    def resolve(pair) -> bool:
        number, case_id = pair
        response = requests.post(f"{urls[number % len(urls)]}/api/cases/{case_id}/resolve",
                                 headers={"Authorization": f"Bearer {token}"}, json={}, timeout=60)
        return response.status_code == 200

    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(resolve, enumerate(open_ids)))


def _settle(store_url: str, conversation_ids: List[str], watcher: CaseWatcher,
            timeout: float = SETTLE_SECONDS) -> List[str]:
    """Until every open case's current batch has a decision, no reply is still pending (nor a turn's bot
    message kept for the callback client) and no message joined a case for QUIET_SECONDS; what is left
    undone after `timeout` (empty: settled)."""
    engine = SuggestionStore(store_url).engine

    def undone() -> List[str]:
        with engine.connect() as db:
            open_cases = db.execute(sa.select(cases.c.id, cases.c.batch).where(
                cases.c.conversation_id.in_(conversation_ids), cases.c.state == "open", cases.c.batch > 0)).all()
            decided = {(row.case_id, row.batch) for row in db.execute(
                sa.select(decisions.c.case_id, decisions.c.batch).where(decisions.c.case_id.in_([c.id for c in open_cases])))}
            pending = db.execute(sa.select(deliveries.c.conversation_id, deliveries.c.kind, deliveries.c.attempts,
                                           deliveries.c.last_error).where(
                deliveries.c.conversation_id.in_(conversation_ids), deliveries.c.state == "pending")).all()
            kept = db.execute(sa.select(callback_posts.c.conversation_id, callback_posts.c.attempts).where(
                callback_posts.c.conversation_id.in_(conversation_ids), callback_posts.c.state == "pending")).all()
        return ([f"case {c.id}: batch {c.batch} undecided" for c in open_cases if (c.id, c.batch) not in decided]
                + [f"{p.conversation_id}: {p.kind} reply pending after {p.attempts} attempts ({p.last_error})" for p in pending]
                + [f"{k.conversation_id}: a bot message the callback client has not taken after {k.attempts} posts" for k in kept])

    deadline = time.monotonic() + timeout
    left = ["the store did not answer"]
    while time.monotonic() < deadline:
        try:
            left = undone()
        except sa.exc.OperationalError:
            pass  # the store is coming back after a fault
        if not left and time.monotonic() - watcher.last_new >= QUIET_SECONDS:
            return []
        time.sleep(0.5)
    return left or [f"customer messages still joining cases {timeout:.0f} s after the load"]
