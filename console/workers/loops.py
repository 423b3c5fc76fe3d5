"""The console's background workers, each a loop around one blocking step run in a thread:
the outbox (delivers queued texts), the event follower (Rasa's stream into cases) and the wait
timer (honest updates to customers who wait).

A failing step is tried again with backoff (0.05 s, 0.1 s … up to KEFU_WORKER_BACKOFF_MAX_SECONDS),
and a failure streak is logged once when it starts (a traceback only for what is not an outage)
and once when it ends — not a traceback every 50 ms while the store is read-only.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Callable, Optional

from sanic import Sanic

from assist.store import is_unavailable, short_error as short
from console.workers.outbox import deliver_due

logger = logging.getLogger("kefu.console")
REMIND_SECONDS = 60.0  # a streak that goes on is mentioned again this often


class FailureStreak:
    """Backoff and logging for one loop: one line when failures start, one when they end."""

    def __init__(self, name: str, first: float, cap: float, log: logging.Logger = logger):
        self.name, self.first, self.cap, self.log = name, first, max(first, cap), log
        self.failures = 0
        self.started = 0.0
        self.reminded = 0.0

    def failed(self, error: BaseException) -> float:
        """Note a failure; the seconds to wait before the next try."""
        now = time.monotonic()
        self.failures += 1
        if self.failures == 1:
            self.started = self.reminded = now
            if is_unavailable(error):
                self.log.warning("%s: the store is unavailable (%s); trying again with backoff up to %g s",
                                 self.name, short(error), self.cap)
            else:
                self.log.error("%s failed; trying again with backoff up to %g s", self.name, self.cap, exc_info=error)
        elif now - self.reminded >= REMIND_SECONDS:
            self.reminded = now
            self.log.warning("%s: still failing after %d tries in %.0f s: %s", self.name, self.failures, now - self.started, short(error))
        return min(self.cap, self.first * 2 ** (self.failures - 1))

    def succeeded(self) -> None:
        if self.failures:
            self.log.warning("%s: working again after %d failed tries in %.1f s", self.name, self.failures,
                             time.monotonic() - self.started)
        self.failures = 0


async def forever(name: str, step, interval: float, wake: Optional[asyncio.Event] = None, backoff_cap: float = 5.0,
                  pulse=None, rest: Optional[Callable[[], float]] = None, min_gap: float = 0.0) -> None:
    """Run `step`, then wait `interval` (or what `rest()` says) or until `wake` is set; at least
    `min_gap` from one step's start to the next (a burst of wake-ups is one step, not many).
    `pulse` (console/monitoring/pulse.py) hears of every step (readiness and metrics)."""
    streak = FailureStreak(name, interval, backoff_cap)
    while True:
        started = time.monotonic()
        pause = interval
        try:
            await asyncio.to_thread(step)
            streak.succeeded()
            if rest is not None:
                pause = rest()
            if pulse is not None:
                pulse.ok(name)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            pause = streak.failed(error)
            if pulse is not None:
                pulse.failed(name, error)
        if wake is None or streak.failures:
            await asyncio.sleep(pause)
            continue
        try:
            await asyncio.wait_for(wake.wait(), timeout=pause)
        except asyncio.TimeoutError:
            pass
        wake.clear()
        if (early := started + min_gap - time.monotonic()) > 0:
            await asyncio.sleep(early)


async def outbox_worker(app: Sanic) -> None:
    s = app.ctx.settings
    # The longest one attempt can take: the tracker check and the push, each within the HTTP timeout.
    lease = timedelta(seconds=2 * s.http_timeout + 1)
    await forever("outbox", lambda: deliver_due(app.ctx.store, app.ctx.rasa, s.retry_max_seconds, s.max_attempts, lease,
                                                on_delivered=app.ctx.metrics.delivered, workers=s.outbox_workers),
                  s.outbox_poll_seconds, app.ctx.outbox_event, s.worker_backoff_max_seconds, app.ctx.pulse)


async def follower_worker(app: Sanic, wake=None) -> None:
    """`wake` (console/workers/event_wake.py, PostgreSQL): while it listens, the follower reads when
    Rasa writes an event of its shares, and otherwise only when something is due by the clock or every
    KEFU_FOLLOWER_FALLBACK_SECONDS; without it, every KEFU_POLL_SECONDS."""
    s, follower = app.ctx.settings, app.ctx.follower

    def rest() -> float:
        if wake is None or not wake.listening:
            return s.poll_seconds
        due = follower.next_due()
        return s.follower_fallback_seconds if due is None else min(s.follower_fallback_seconds, max(s.poll_seconds, due))

    def step():
        # Drain everything that is there, then rest; the outbox is woken only when something was
        # handled (a holding message may be queued), not 20 times a second for nothing.
        handled = 0
        while (count := app.ctx.follower.poll()):
            handled += count
        if handled:
            app.ctx.wake_outbox()

    await forever("follower", step, s.poll_seconds, wake.wake if wake else None, s.worker_backoff_max_seconds,
                  app.ctx.pulse, rest=rest, min_gap=s.poll_seconds)


async def wait_timer_worker(app: Sanic) -> None:
    s = app.ctx.settings

    def step():
        updated = app.ctx.cases.send_wait_updates(s.wait_update_seconds, s.max_wait_updates)
        if app.ctx.cases.hand_back_unanswered(s.abandon_after_seconds) or updated:
            app.ctx.wake_outbox()

    await forever("wait timer", step, max(1.0, min(5.0, s.wait_update_seconds / 4)), backoff_cap=s.worker_backoff_max_seconds,
                  pulse=app.ctx.pulse)
