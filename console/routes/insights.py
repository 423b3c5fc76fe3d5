"""JSON routes for looking back: search, closed cases with their decisions, the figures (for
supervisors), and the agents' concern corrections (the bot builders' loop). Documented in
console/API.md."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json

from assist.store.records import MAX_QUERY
from assist.text.search import search_form
from console.errors import ApiError
from console.roles import EVERYONE, SUPERVISORS, allow
from console.routes.api import run

insights = Blueprint("insights", url_prefix="/api")


def _number(request: Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, "bad_field", f"'{name}' must be a number") from None
    if not low <= value <= high:
        raise ApiError(400, "bad_field", f"'{name}' must be between {low:g} and {high:g}")
    return value


@insights.get("/search")
@allow(*EVERYONE)
async def search(request: Request):
    query = (request.args.get("q") or "").strip()
    if not query:
        raise ApiError(400, "missing_field", "'q' is required: customer words, an order number or an agent's name")
    if len(query) > MAX_QUERY:
        raise ApiError(400, "too_long", f"'q' has at most {MAX_QUERY} characters")
    limit = int(_number(request, "limit", 50, 1, 200))
    return json({"query": query, "cases": await run(request, request.app.ctx.store.records.search_cases, query, search_form, limit)})


@insights.get("/history")
@allow(*EVERYONE)
async def history(request: Request):
    limit = int(_number(request, "limit", 50, 1, 200))
    offset = int(_number(request, "offset", 0, 0, 1_000_000))
    return json({"cases": await run(request, request.app.ctx.store.records.closed_cases, limit, offset)})


@insights.get("/figures")
@allow(*SUPERVISORS)
async def figures_route(request: Request):
    days = _number(request, "days", 30, 0.01, 3660)
    return json(await run(request, request.app.ctx.store.figures.figures, days))


@insights.get("/corrections")
@allow(*EVERYONE)
async def corrections(request: Request):
    return json({"corrections": await run(request, request.app.ctx.store.learning.corrections)})
