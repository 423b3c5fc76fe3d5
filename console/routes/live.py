"""The live queue: one watcher per console process polls the store's fingerprint and, when it
changes, sends every open console the new queue as a server-sent event. No reloads. With no
console open on this process the watcher reads nothing.

Cases are written by other processes (the action server, the event follower), so watching
the shared store is what works for one console as for several behind a load balancer.
A stream starts with the current queue, so a browser that reconnects misses nothing. Each
stream sends what its caller may see (console/roles.py): an agent their own cases and the
shared queue, a supervisor every case.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, Optional, Set

from sanic import Blueprint, Request

from console.roles import EVERYONE, allow, visible_cases
from console.workers.loops import FailureStreak


logger = logging.getLogger("kefu.console.live")
live = Blueprint("live", url_prefix="/api")
KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 600.0  # then the browser reconnects by itself (EventSource), with a fresh snapshot


class QueueWatcher:
    def __init__(self, queue, interval: float):
        self.queue, self.interval = queue, interval  # assist.store.queue.Queue
        self.subscribers: Set[asyncio.Queue] = set()
        self.latest: Optional[Dict[str, Any]] = None
        self.closing = asyncio.Event()

    def subscribe(self) -> asyncio.Queue:
        inbox: asyncio.Queue = asyncio.Queue(maxsize=1)
        self.subscribers.add(inbox)
        return inbox

    def unsubscribe(self, inbox: asyncio.Queue) -> None:
        self.subscribers.discard(inbox)

    def publish(self, payload: Dict[str, Any]) -> None:
        self.latest = payload
        for inbox in list(self.subscribers):
            if inbox.full():  # a slow reader only needs the newest queue
                inbox.get_nowait()
            inbox.put_nowait(payload)

    async def current(self) -> Dict[str, Any]:
        return await asyncio.to_thread(self.queue.snapshot)

    async def run(self) -> None:
        seen = None
        streak = FailureStreak("live queue", self.interval, 5.0, logger)  # one log line per outage
        while not self.closing.is_set():
            pause = self.interval
            if not self.subscribers:
                # Nobody is watching: no store reads (a stream starts with the current queue anyway).
                seen = None
                await asyncio.sleep(pause)
                continue
            try:
                mark = await asyncio.to_thread(self.queue.fingerprint)
                if mark != seen:
                    self.publish(await self.current())
                    seen = mark
                streak.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                pause = streak.failed(error)
            await asyncio.sleep(pause)


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


def _queue_event(snapshot: Dict[str, Any], request: Request) -> str:
    shown = dict(snapshot, cases=visible_cases(snapshot["cases"], request.ctx.agent, request.ctx.role))
    return _event("queue", json.dumps(shown, ensure_ascii=False))


@live.get("/live")
@allow(*EVERYONE)
async def stream(request: Request):
    watcher: QueueWatcher = request.app.ctx.watcher
    inbox = watcher.subscribe()
    response = await request.respond(
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    try:
        await response.send("retry: 1000\n\n" + _queue_event(await watcher.current(), request))
        loop = asyncio.get_running_loop()
        ends = loop.time() + STREAM_SECONDS
        while not watcher.closing.is_set() and loop.time() < ends:
            closing = asyncio.ensure_future(watcher.closing.wait())
            arriving = asyncio.ensure_future(inbox.get())
            done, _ = await asyncio.wait({closing, arriving}, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            for task in (closing, arriving):
                if task not in done:
                    task.cancel()
            if arriving in done:
                await response.send(_queue_event(arriving.result(), request))
            elif not done:
                await response.send(": keep-alive\n\n")
    finally:
        watcher.unsubscribe(inbox)
    await response.eof()
