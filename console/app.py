"""create_app(settings, store): the console's Sanic app. Nothing happens at import time."""
from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Optional

from sanic import Request, Sanic
from sanic.response import json

from assist.holding import wait_update_message
from assist.policy import load_policy
from assist.situation import build_situation
from assist.settings import Settings, get_settings
from assist.store import SuggestionStore
from assist.store.db import now as store_now
from console.api import api
from console.auth import LoginThrottle, auth, identify
from console.chat import chat
from console.errors import register_error_handlers
from console.follower import EventFollower
from console.insights import insights
from console.live import QueueWatcher, live
from console.outbox import deliver_due
from console.pages import add_security_headers, pages
from console.rasa_client import RasaClient

logger = logging.getLogger("kefu.console")


def create_app(settings: Optional[Settings] = None, store: Optional[SuggestionStore] = None, workers: bool = True) -> Sanic:
    settings = settings or get_settings()
    # Sanic keeps a registry of app names; tests create several apps in one process.
    app = Sanic(f"kefu_console_{uuid.uuid4().hex[:8]}")
    app.config.REQUEST_MAX_SIZE = 1_000_000
    app.ctx.settings = settings
    app.ctx.logger = logger
    app.ctx.store = store
    app.ctx.outbox_event = None
    app.ctx.login_throttle = LoginThrottle()
    for blueprint in (api, insights, live, auth, pages, chat):
        app.blueprint(blueprint)
    add_security_headers(app)
    register_error_handlers(app)

    @app.get("/health")
    async def health(request: Request):
        return json({"status": "ok"})

    # Agents sign in (cookie + CSRF) or send their bearer token; see console/auth.py.
    app.middleware("request")(identify)

    @app.before_server_start
    async def open_resources(app: Sanic, _loop):
        if app.ctx.store is None:
            # Refuses a schema that is behind (SchemaBehind names `python -m console migrate`).
            app.ctx.store = await asyncio.to_thread(SuggestionStore, settings.store_url)
        app.ctx.policy = load_policy()
        app.ctx.rasa = RasaClient(settings.rasa_url, settings.rasa_api_token(), settings.http_timeout)
        app.ctx.outbox_event = asyncio.Event()
        app.ctx.watcher = QueueWatcher(app.ctx.store.queue, settings.live_poll_seconds)

    def wake_outbox() -> None:
        if app.ctx.outbox_event is not None:
            app.ctx.outbox_event.set()

    app.ctx.wake_outbox = wake_outbox

    @app.after_server_start
    async def start_workers(app: Sanic, _loop):
        app.ctx.watcher_task = asyncio.ensure_future(app.ctx.watcher.run())
        app.ctx.worker_tasks = []
        if not workers:
            return
        app.ctx.worker_tasks += [asyncio.ensure_future(outbox_worker(app)), asyncio.ensure_future(wait_timer_worker(app))]
        if settings.follow_events:
            app.ctx.follower = EventFollower(app.ctx.store, settings.events_url)
            app.ctx.worker_tasks.append(asyncio.ensure_future(follower_worker(app)))

    @app.before_server_stop
    async def end_live_streams(app: Sanic, _loop):
        # Open event streams end now, so stopping does not wait for browsers to hang up.
        app.ctx.watcher.closing.set()
        # The workers stop with the server (a pending step in a thread finishes on its own).
        tasks = [t for t in [getattr(app.ctx, "watcher_task", None), *getattr(app.ctx, "worker_tasks", [])] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    return app


async def _forever(app: Sanic, name: str, step, interval: float, wake: Optional[asyncio.Event] = None) -> None:
    while True:
        try:
            await asyncio.to_thread(step)
        except asyncio.CancelledError:
            raise
        except Exception:
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
    await _forever(
        app, "outbox", lambda: deliver_due(app.ctx.store, app.ctx.rasa, s.retry_max_seconds, s.max_attempts),
        s.poll_seconds, app.ctx.outbox_event,
    )


async def follower_worker(app: Sanic) -> None:
    def step():
        # Drain everything that is there, then rest.
        while app.ctx.follower.poll():
            pass
        app.ctx.wake_outbox()

    await _forever(app, "follower", step, app.ctx.settings.poll_seconds)


def send_wait_updates(store: SuggestionStore, policy, settings: Settings, now: Optional[datetime] = None) -> int:
    """An honest update to customers waiting longer than the limit for a person's answer.
    `now` is aware; the message speaks of the shop's hours in the shop's timezone."""
    now = now or store_now()
    sent = 0
    for case in store.queue.open_queue(limit=100_000):
        # waiting_since is None once a person answered the customer's latest words.
        if case["wait_updates"] >= settings.max_wait_updates or not case["waiting_since"]:
            continue
        waited = now - datetime.fromisoformat(case["waiting_since"])
        if waited < timedelta(seconds=settings.wait_update_seconds * (case["wait_updates"] + 1)):
            continue
        situation = build_situation(case["last_customer_text"] or "", intent=(case["concerns"] or [None])[0])
        store.outbox.queue_message(case["id"], wait_update_message(situation, policy, now=now), kind="update")
        sent += 1
    return sent


async def wait_timer_worker(app: Sanic) -> None:
    def step():
        if send_wait_updates(app.ctx.store, app.ctx.policy, app.ctx.settings):
            app.ctx.wake_outbox()

    await _forever(app, "wait timer", step, max(1.0, min(5.0, app.ctx.settings.wait_update_seconds / 4)))
