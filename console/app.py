"""create_app(settings, store): the console's Sanic app. Nothing happens at import time."""
from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Optional

from sanic import Request, Sanic
from sanic.response import json

from assist.cases.service import CaseService
from assist.drafting.shop_checks import load_checked_policy
from assist.integrations.orders import open_order_store
from assist.integrations.rasa import RasaClient
from assist.settings import Settings, get_settings
from assist.store import SuggestionStore
from console.errors import register_error_handlers
from console.monitoring.lag import FollowerLag
from console.monitoring.metrics import ConsoleMetrics
from console.monitoring.pulse import WorkerPulse
from console.monitoring.readiness import Readiness
from console.routes.api import api
from console.routes.auth import LoginThrottle, auth, identify
from console.routes.chat import chat
from console.routes.images import images
from console.routes.insights import insights
from console.routes.live import QueueWatcher, live
from console.routes.ops import ops
from console.routes.pages import add_security_headers, pages
from console.routes.team import team
from console.workers.event_wake import EventWake, is_postgres
from console.workers.follower import EventFollower
from console.workers.loops import follower_worker, outbox_worker, wait_timer_worker

logger = logging.getLogger("kefu.console")
BOOKMARK_SAVE_SECONDS = 0.5  # the follower's bookmarks are written at most this often


def create_app(settings: Optional[Settings] = None, store: Optional[SuggestionStore] = None, workers: bool = True) -> Sanic:
    settings = settings or get_settings()
    # Sanic keeps a registry of app names; tests create several apps in one process. Logging is
    # the process's (assist/logs.py: files, secrets scrubbed), not Sanic's own handlers.
    app = Sanic(f"kefu_console_{uuid.uuid4().hex[:8]}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = 1_000_000  # photos: their own limit (console/routes/images.py)
    app.ctx.settings = settings
    app.ctx.logger = logger
    app.ctx.store = store
    app.ctx.outbox_event = None
    app.ctx.login_throttle = LoginThrottle()
    app.ctx.pulse = WorkerPulse()
    for blueprint in (api, team, insights, live, auth, pages, chat, images, ops):
        app.blueprint(blueprint)
    add_security_headers(app)
    register_error_handlers(app)

    @app.get("/health")
    async def health(request: Request):
        return json({"status": "ok"})

    # Agents sign in (cookie + CSRF) or send their bearer token; see console/routes/auth.py.
    app.middleware("request")(identify)

    @app.before_server_start
    async def open_resources(app: Sanic, _loop):
        if app.ctx.store is None:
            # Refuses a schema that is behind (SchemaBehind names `python -m console migrate`).
            app.ctx.store = await asyncio.to_thread(SuggestionStore, settings.store_url)
        app.ctx.policy = load_checked_policy()
        app.ctx.cases = CaseService(app.ctx.store, find_order=open_order_store().find)
        app.ctx.rasa = RasaClient(settings.rasa_url, settings.rasa_api_secret(), settings.http_timeout)
        app.ctx.outbox_event = asyncio.Event()
        app.ctx.watcher = QueueWatcher(app.ctx.store.queue, settings.live_poll_seconds)
        lag = FollowerLag(settings.events_url, app.ctx.store) if settings.follow_events else None
        app.ctx.metrics = ConsoleMetrics(app.ctx.store, settings, lag, app.ctx.pulse)
        app.ctx.readiness = Readiness(settings, app.ctx.store, app.ctx.pulse, lag)

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
            app.ctx.follower = EventFollower(app.ctx.cases, settings.events_url, max_tries=settings.follower_max_tries,
                                             save_seconds=BOOKMARK_SAVE_SECONDS,
                                             observe=app.ctx.metrics.message_handled)
            wake = None
            if is_postgres(settings.events_url):  # woken by Rasa's new events, not polling 20 times a second
                wake = app.ctx.event_wake = EventWake(settings.events_url, asyncio.Event(), app.ctx.follower.wants)
                wake.start()
            app.ctx.worker_tasks.append(asyncio.ensure_future(follower_worker(app, wake)))

    @app.before_server_stop
    async def end_live_streams(app: Sanic, _loop):
        # Open event streams end now, so stopping does not wait for browsers to hang up.
        app.ctx.watcher.closing.set()
        # The workers stop with the server (a pending step in a thread finishes on its own).
        tasks = [t for t in [getattr(app.ctx, "watcher_task", None), *getattr(app.ctx, "worker_tasks", [])] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if getattr(app.ctx, "event_wake", None) is not None:
            await app.ctx.event_wake.stop()
        follower = getattr(app.ctx, "follower", None)
        if follower is not None:
            try:  # the other consoles take this one's shares at once, not after ALIVE_SECONDS
                await asyncio.to_thread(follower.membership.leave)
            except Exception as error:  # the store is down: they take them when it ages out
                logger.warning("the follower could not leave the members: %s", error)

    return app
