"""A team on a shift: who is on it, handing a case to a colleague, and the supervisor's view of
every agent's load with reassignment (documented in console/API.md). The case service records
every move (who, when, the note); the receiver reads the note on the case."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json

from console import bodies
from console.errors import ApiError
from console.roles import EVERYONE, SUPERVISORS, allow
from console.routes.api import run

team = Blueprint("team", url_prefix="/api")


def _note(text, required: bool):
    note = (text or "").strip()
    if required and not note:
        raise ApiError(400, "missing_field", "'note' must say what the colleague should know")
    return note or None


@team.get("/agents")
@allow(*EVERYONE)
async def roster(request: Request):
    """Everyone who can be handed a case, with their role."""
    return json({"agents": await run(request, request.app.ctx.store.agents.roster)})


@team.post("/cases/<case_id>/transfer")
@allow(*EVERYONE)
async def transfer(request: Request, case_id: str):
    body = bodies.parse(request, bodies.Transfer)
    if body.to == request.ctx.agent:
        raise ApiError(400, "bad_field", "'to': transfer a case to a colleague, not to yourself")
    note = _note(body.note, required=True)
    moved = await run(request, request.app.ctx.cases.transfer, case_id, request.ctx.agent, body.to, note)
    return json({"handover": moved}, status=201)


@team.post("/cases/<case_id>/reassign")
@allow(*SUPERVISORS)
async def reassign(request: Request, case_id: str):
    body = bodies.parse(request, bodies.Reassign)
    moved = await run(request, request.app.ctx.cases.reassign, case_id, request.ctx.agent, body.to,
                      _note(body.note, required=False))
    return json({"handover": moved}, status=201)


@team.get("/team")
@allow(*SUPERVISORS)
async def load(request: Request):
    """Every agent's load and the shared queue's, counted on the server's clock."""
    store = request.app.ctx.store
    roster_ = await run(request, store.agents.roster)
    return json(await run(request, store.queue.load, roster_, request.app.ctx.settings.wait_red_seconds))
