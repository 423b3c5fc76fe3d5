"""Offered load and its measurements for bench/scale.py: one step at a fixed rate of customer
messages, with agents approving on every console, gives message → case and approve → delivered
latencies, the rate actually achieved, and CPU seconds per process.

Open loop per step: message j of conversation i is due at (j·K + i) / rate s (K conversations of M
messages), so the offered rate holds whatever the latency — except that a shopper never sends before
the previous message was taken (a person waits for the answer), which shows as achieved < offered.
"""
from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

import sqlalchemy as sa

from assist.integrations.rasa import delivery_key
from assist.store import SuggestionStore
from assist.store.schema import deliveries
from kefu_rasa.dev.scale_agents import Agents, CaseWatcher
from kefu_rasa.dev.scale_cluster import Cluster
from kefu_rasa.dev.scale_load import Customers, ScaleInbox, make_conversations

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


@dataclass
class Step:
    rate: float                      # offered customer messages per second
    seconds: float
    sent: int
    to_case_ms: List[float] = field(default_factory=list)
    to_deliver_ms: List[float] = field(default_factory=list)
    failures: int = 0
    cpu: Dict[str, float] = field(default_factory=dict)  # role → share of one core during the step

    @property
    def achieved(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def p(self, values: List[float], q: float) -> float:
        return percentile(values, q)

    def holds(self, bound_ms: float) -> bool:
        """p95 message → case within the bound, the offered rate achieved, nothing failed."""
        return (bool(self.to_case_ms) and self.p(self.to_case_ms, 0.95) <= bound_ms
                and self.achieved >= 0.9 * self.rate and not self.failures)

    def line(self) -> str:
        c, d = self.to_case_ms, self.to_deliver_ms
        median = lambda v: statistics.median(v) if v else float("nan")  # noqa: E731
        return (f"{self.rate:g}/s offered, {self.achieved:.1f}/s achieved: message→case p50 {median(c):.0f} p95 "
                f"{self.p(c, 0.95):.0f} ms (n={len(c)}), approve→delivered p50 {median(d):.0f} p95 {self.p(d, 0.95):.0f} ms "
                f"(n={len(d)}), failures {self.failures}")


def cpu_seconds(pids: List[int]) -> float:
    """User + system CPU of these processes and everything in their process groups (/proc/<pid>/stat)."""
    groups = set(pids)
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, group = int(entry.name), int(fields[2])
        if pid in groups or group in groups:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def _cpu_snapshot(cluster: Cluster) -> Dict[str, float]:
    snapshot = {role: cpu_seconds(pids) for role, pids in cluster.pids().items()}
    snapshot["load generator"] = cpu_seconds([os.getpid()])
    return snapshot


def _cpu_shares(before: Dict[str, float], after: Dict[str, float], elapsed: float) -> Dict[str, float]:
    """Each role's share of one core between two snapshots."""
    return {role: (after.get(role, 0.0) - before.get(role, 0.0)) / elapsed for role in after}


def idle_cpu(cluster: Cluster, seconds: float) -> Dict[str, float]:
    """Each process's share of one core with no customer and no agent: the workers' polling, the base load."""
    before, began = _cpu_snapshot(cluster), time.monotonic()
    time.sleep(seconds)
    return _cpu_shares(before, _cpu_snapshot(cluster), time.monotonic() - began)


def offered_step(cluster: Cluster, rate: float, seconds: float, per_conversation: int = 3, seed: int = 0) -> Step:
    """Offer `rate` customer messages per second for about `seconds`; wait for the cases and the replies."""
    count = max(1, round(rate * seconds / per_conversation))
    conversations = make_conversations(count, per_conversation, seed=seed)
    watcher = CaseWatcher(cluster.store_url).start()
    # Each approval closes its case: the queue stays as long as the load makes it, step after step. An
    # agent reads the queue once a second: the consoles' CPU is the customers' load, not the agents' polling.
    agents = Agents(cluster.console_urls, cluster.store_url, per_console=1, think=1.0, resolve=True)
    agents.start()
    customers = Customers(cluster)
    before, began = _cpu_snapshot(cluster), time.monotonic()

    def shopper(i: int) -> None:
        conversation = conversations[i]
        for j, text in enumerate(conversation.script):
            delay = began + (j * count + i) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if customers.send(conversation, text).answered_at is None:
                return

    threads = [threading.Thread(target=shopper, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    after = _cpu_snapshot(cluster)
    step = Step(rate, elapsed, sum(1 for c in conversations for s in c.sent if s.answered_at))
    step.failures = sum(1 for c in conversations if c.failed)
    step.cpu = _cpu_shares(before, after, elapsed)
    _wait_for_cases_and_replies(cluster, conversations, watcher, agents)
    agents.finish()
    watcher.finish()
    for conversation in conversations:
        for sent in conversation.sent:
            arrived = watcher.arrival(conversation.conversation_id, sent.text)
            if arrived is not None:
                step.to_case_ms.append((arrived - sent.asked_at) * 1000)
    step.to_deliver_ms = _delivery_latencies(cluster, agents)
    return step


def _wait_for_cases_and_replies(cluster, conversations, watcher, agents, timeout: float = 30) -> None:
    """A little time for the last messages' cases and the last approvals' deliveries."""
    deadline = time.monotonic() + timeout
    ids = {c.conversation_id for c in conversations}
    while time.monotonic() < deadline:
        have_case = {conversation for conversation, _ in list(watcher.seen)}
        if ids <= have_case and len(agents.approvals) >= len(ids):
            break
        time.sleep(0.5)
    time.sleep(2)


def _delivery_latencies(cluster: Cluster, agents: Agents) -> List[float]:
    inbox: ScaleInbox = cluster.inbox  # type: ignore[assignment]
    with SuggestionStore(cluster.store_url).engine.connect() as db:
        keys = {row.decision_id: delivery_key(row.id) for row in db.execute(
            sa.select(deliveries.c.id, deliveries.c.decision_id).where(
                deliveries.c.decision_id.in_([a.decision_id for a in agents.approvals])))}
    found = []
    for approval in agents.approvals:
        arrived = inbox.first_arrival.get(keys.get(approval.decision_id, ""))
        if arrived is not None:
            found.append((arrived - approval.asked_at) * 1000)
    return found


def sustained_rate(cluster: Cluster, rates: List[float], seconds: float, bound_ms: float, per_conversation: int = 3,
                   log=print) -> tuple:
    """The highest offered rate of `rates` (rising) whose step holds the bound, and the steps run. A
    warm-up step comes first (the first turns of a fresh process are slow) and is not counted; the
    search stops after two failing steps in a row, so one noisy step does not end it."""
    log(f"  warm-up {offered_step(cluster, rates[0], min(seconds, 10), per_conversation, seed=99).line()}")
    steps: List[Step] = []
    best, failed_in_a_row = 0.0, 0
    for number, rate in enumerate(rates):
        step = offered_step(cluster, rate, seconds, per_conversation, seed=100 + number)
        steps.append(step)
        log(f"  step {step.line()}")
        if step.holds(bound_ms):
            best, failed_in_a_row = rate, 0
        else:
            failed_in_a_row += 1
            if failed_in_a_row == 2:
                break
    return best, steps
