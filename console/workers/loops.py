"""The console's background workers, each a loop around one blocking step run in a thread:
the outbox (delivers queued texts), the event follower (Rasa's stream into cases) and the wait
timer (honest updates to customers who wait). A failing step is logged and tried again."""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

from sanic import Sanic

from console.workers.outbox import deliver_due

logger = logging.getLogger("kefu.console")


async def forever(name: str, step, interval: float, wake: Optional[asyncio.Event] = None, pulse=None) -> None:
    """`pulse` (console/monitoring/pulse.py) hears of every step; a failing step's log line is
    rate-limited by the log filter (assist/logs.py), so a loop failing 20 times a second stays readable."""
    while True:
        try:
            await asyncio.to_thread(step)
            if pulse is not None:
                pulse.ok(name)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if pulse is not None:
                pulse.failed(name, error)
            logger.exception("%s failed; trying again", name)
        if wake is None:
            await asyncio.sleep(interval)
        else:
            try:
                await asyncio.wait_for(wake.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass
            wake.clear()


async def outbox_worker(app: Sanic) -> None:
    s = app.ctx.settings
    await forever("outbox", lambda: deliver_due(app.ctx.store, app.ctx.rasa, s.retry_max_seconds, s.max_attempts,
                                                on_delivered=app.ctx.metrics.delivered),
                  s.poll_seconds, app.ctx.outbox_event, app.ctx.pulse)


async def follower_worker(app: Sanic) -> None:
    def step():
        # Drain everything that is there, then rest.
        while app.ctx.follower.poll():
            pass
        app.ctx.wake_outbox()

    await forever("follower", step, app.ctx.settings.poll_seconds, pulse=app.ctx.pulse)


async def wait_timer_worker(app: Sanic) -> None:
    s = app.ctx.settings

    def step():
        if app.ctx.cases.send_wait_updates(s.wait_update_seconds, s.max_wait_updates):
            app.ctx.wake_outbox()

    await forever("wait timer", step, max(1.0, min(5.0, s.wait_update_seconds / 4)), pulse=app.ctx.pulse)
