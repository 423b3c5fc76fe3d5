"""The console's Prometheus metrics (/metrics), in a registry of its own per app.

From the store at each scrape (exact, whoever wrote it; several consoles report the same values):
  kefu_outbox_deliveries{state=pending|failed}, kefu_outbox_oldest_due_seconds,
  kefu_callback_posts{state=pending|failed} (a turn's bot messages the callback client has not taken),
  kefu_open_cases{stage=open|in_progress|done}, kefu_customers_waiting_past_red,
  kefu_decisions_total{kind=approve|edit|reject}, kefu_store_up;
from Rasa's event stream: kefu_follower_lag_events, kefu_follower_lag_seconds, kefu_events_up;
measured in this process (the store keeps times to the second, too coarse for these):
  kefu_message_to_case_seconds — Rasa's timestamp of a customer message → this console's follower
    finds it in a case with drafts (whether the handoff action or the follower put it there);
  kefu_approve_to_delivered_seconds — an agent's approve/edit request here → Rasa confirmed the
    delivery (decisions taken on another console are not timed here);
  kefu_worker_failures_total{worker}.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Dict, Iterator, Optional

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from assist.logs import log_event
from assist.settings import Settings
from assist.store import DECISION_ACTIONS, SuggestionStore
from assist.store.vitals import STAGES
from console.monitoring.lag import FollowerLag
from console.monitoring.pulse import WorkerPulse

logger = logging.getLogger("kefu.console")
IN_A_CASE = ("opened", "joined", "duplicate")  # duplicate: the handoff action had put it in its case


def _gauge(name: str, doc: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


class StoreCollector:
    """Gauges and counts read from the store and the event stream when Prometheus scrapes."""

    def __init__(self, store: SuggestionStore, settings: Settings, lag: Optional[FollowerLag], pulse: WorkerPulse):
        self.store, self.settings, self.lag, self.pulse = store, settings, lag, pulse

    def collect(self) -> Iterator[Metric]:
        try:
            outbox = self.store.vitals.outbox()
            kept = self.store.vitals.callback_posts()
            stages = self.store.vitals.open_cases_by_stage()
            waiting = self.store.vitals.waiting_longer_than(self.settings.wait_red_seconds)
            decided = self.store.vitals.decisions_by_kind()
        except Exception:
            logger.exception("metrics: the store could not be read")
            yield _gauge("kefu_store_up", "1 when the store answered this scrape", 0)
        else:
            yield _gauge("kefu_store_up", "1 when the store answered this scrape", 1)
            deliveries = GaugeMetricFamily("kefu_outbox_deliveries", "deliveries waiting (pending) or given up (failed)", labels=["state"])
            for state in ("pending", "failed"):
                deliveries.add_metric([state], outbox[state])
            yield deliveries
            yield _gauge("kefu_outbox_oldest_due_seconds", "how long the oldest due delivery has been due", outbox["oldest_due_seconds"])
            posts = GaugeMetricFamily("kefu_callback_posts", "a turn's bot messages the callback client has not taken "
                                      "(pending: being retried) or never took (failed: given up after an hour)", labels=["state"])
            for state in ("pending", "failed"):
                posts.add_metric([state], kept[state])
            yield posts
            cases = GaugeMetricFamily("kefu_open_cases", "open cases by conversation stage", labels=["stage"])
            for stage in sorted(set(STAGES) | set(stages)):
                cases.add_metric([stage], stages.get(stage, 0))
            yield cases
            yield _gauge("kefu_customers_waiting_past_red", "customers waiting for a person longer than KEFU_WAIT_RED_SECONDS", waiting)
            kinds = CounterMetricFamily("kefu_decisions", "agents' decisions on drafts, by kind", labels=["kind"])
            for kind in sorted(set(DECISION_ACTIONS) | set(decided)):
                kinds.add_metric([kind], decided.get(kind, 0))
            yield kinds
        if self.lag is not None:
            yield from self._lag()
        failures = CounterMetricFamily("kefu_worker_failures", "failed steps of the console's background workers", labels=["worker"])
        for worker, count in sorted(self.pulse.failures.items()):
            failures.add_metric([worker], count)
        yield failures

    def _lag(self) -> Iterator[Metric]:
        try:
            lag = self.lag.measure()
        except Exception:
            logger.exception("metrics: Rasa's event stream could not be read")
            yield _gauge("kefu_events_up", "1 when Rasa's event stream answered this scrape", 0)
            return
        yield _gauge("kefu_events_up", "1 when Rasa's event stream answered this scrape", 1)
        yield _gauge("kefu_follower_lag_events", "events in Rasa's stream the follower has not read", lag["events"])
        yield _gauge("kefu_follower_lag_seconds", "age of the oldest event the follower has not read", lag["seconds"])


class ConsoleMetrics:
    """The registry, and the hooks the follower, the decision routes and the outbox call."""

    def __init__(self, store: SuggestionStore, settings: Settings, lag: Optional[FollowerLag], pulse: WorkerPulse):
        self.registry = CollectorRegistry()
        self.registry.register(StoreCollector(store, settings, lag, pulse))
        self.message_to_case = Histogram(
            "kefu_message_to_case_seconds", "customer message (Rasa's timestamp) → in a case with drafts, seen by the follower",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=self.registry)
        self.approve_to_delivered = Histogram(
            "kefu_approve_to_delivered_seconds", "agent's approve or edit request → Rasa confirmed the delivery",
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=self.registry)
        self._decided: "OrderedDict[int, float]" = OrderedDict()
        # Delivered before the route that took the decision told us of it (the outbox can be quicker
        # than the rest of the request): decision id → when.
        self._delivered_first: "OrderedDict[int, float]" = OrderedDict()
        self._lock = threading.Lock()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def message_handled(self, event: Dict[str, Any], outcome) -> None:
        stamp = event.get("timestamp")
        if outcome.kind in IN_A_CASE and isinstance(stamp, (int, float)):
            self.message_to_case.observe(max(0.0, time.time() - stamp))

    def decided(self, decision: Dict[str, Any], asked_at: Optional[float] = None) -> None:
        """An agent's decision taken here; `asked_at`: when their request came (time.time())."""
        if not decision.get("final_text"):
            return  # a rejection sends nothing
        asked_at = asked_at or time.time()
        with self._lock:
            delivered_at = self._delivered_first.pop(decision["id"], None)
            if delivered_at is None:
                self._decided.setdefault(decision["id"], asked_at)
                while len(self._decided) > 10_000:  # decisions delivered by another console never come back here
                    self._decided.popitem(last=False)
        if delivered_at is not None:
            self.approve_to_delivered.observe(max(0.0, delivered_at - asked_at))

    def delivered(self, delivery: Dict[str, Any]) -> None:
        at = time.time()
        with self._lock:
            decided_at = self._decided.pop(delivery.get("decision_id"), None)
            if decided_at is None and delivery.get("decision_id") is not None:
                self._delivered_first[delivery["decision_id"]] = at
                while len(self._delivered_first) > 10_000:
                    self._delivered_first.popitem(last=False)
        seconds = at - decided_at if decided_at is not None else None
        if seconds is not None:
            self.approve_to_delivered.observe(seconds)
        log_event(logger, "delivered", delivery["case_id"], delivery["conversation_id"], delivery=delivery["id"],
                  kind=delivery["kind"], attempts=delivery["attempts"] + 1,
                  seconds=f"{seconds:.3f}" if seconds is not None else None)
