"""What operators and their tools ask the console, without signing in: /ready (readiness, with the
reasons when not ready; 503 then) and /metrics (Prometheus). Liveness stays /health (console/app.py)."""
from __future__ import annotations

import asyncio

from sanic import Blueprint, Request
from prometheus_client import CONTENT_TYPE_LATEST
from sanic.response import json, raw

ops = Blueprint("ops")


@ops.get("/ready")
async def ready(request: Request):
    is_ready, checks = await request.app.ctx.readiness.check()
    body = {"ready": is_ready, "checks": checks}
    if not is_ready:
        body["reasons"] = [c["reason"] for c in checks.values() if not c["ok"]]
    return json(body, status=200 if is_ready else 503)


@ops.get("/metrics")
async def metrics(request: Request):
    # The store's gauges are read at each scrape: blocking queries, off the event loop.
    return raw(await asyncio.to_thread(request.app.ctx.metrics.render), content_type=CONTENT_TYPE_LATEST)
