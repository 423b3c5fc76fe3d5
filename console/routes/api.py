"""The console's JSON API for case work (documented in console/API.md). Every route needs an agent
and names the roles it serves (console/roles.py). Case state changes go through the case service
(assist/cases/), never straight to the store."""
from __future__ import annotations

import asyncio
import time

from sanic import Blueprint, Request
from sanic.response import json

from assist.drafting.checker import check
from assist.drafting.fixes import with_fixes
from assist.shop.intents import INTENTS, PERSON_CONCERNS
from assist.shop.labels import LABELS
from assist.store import ABANDONED, CANCELLED, OPEN, RESOLVED, waiting_since
from console import bodies
from console.errors import ApiError
from console.roles import EVERYONE, FORBIDDEN, SUPERVISORS, allow, is_supervisor, visible_cases

api = Blueprint("api", url_prefix="/api")


async def run(request: Request, fn, *args, **kwargs):
    """Store calls are blocking (SQLAlchemy): keep them off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def findings_of(text: str, policy) -> list:
    return [f.to_dict() for f in check(text, policy=policy)]


def _text_limit(request: Request, text: str, field: str) -> str:
    if not text.strip():
        raise ApiError(400, "missing_field", f"'{field}' must be a non-empty string")
    limit = request.app.ctx.settings.max_edit_chars
    if len(text) > limit:
        raise ApiError(400, "too_long", f"'{field}' has {len(text)} characters; the limit is {limit}")
    return text


def _decision(body: bodies.Decision) -> dict:
    return {"batch": body.batch, "resolve": body.resolve, "idempotency_key": body.idempotency_key}


@api.get("/cases")
@allow(*EVERYONE)
async def list_cases(request: Request):
    """Open cases in the queue's order (the live view's: an agent's own and the shared queue, every
    case for a supervisor); closed ones most recently closed first."""
    state = request.args.get("state", OPEN)
    if state not in (OPEN, RESOLVED, CANCELLED, ABANDONED):
        raise ApiError(400, "bad_field", "state must be open, resolved, cancelled or abandoned")
    store = request.app.ctx.store
    if state == OPEN:
        queue = await run(request, store.queue.open_queue)
        return json({"cases": visible_cases(queue, request.ctx.agent, request.ctx.role)})
    return json({"cases": await run(request, store.records.closed_cases, 200, 0, (state,))})


@api.get("/cases/<case_id>")
@allow(*EVERYONE)
async def get_case(request: Request, case_id: str):
    store = request.app.ctx.store
    case = await run(request, store.cases.get_case, case_id)
    case["waiting_since"] = waiting_since([{"sender": m["sender"], "at": m["at"]} for m in case["messages"]])
    case["shop_context"] = await run(request, store.customers.chat_context, case["conversation_id"])
    return json(case)


@api.post("/cases/<case_id>/approve")
@allow(*EVERYONE)
async def approve(request: Request, case_id: str):
    asked_at = time.time()  # approve → delivered is timed from the agent's request
    body = bodies.parse(request, bodies.Approve)
    decision = await run(request, request.app.ctx.cases.decide, case_id, request.ctx.agent, "approve",
                         draft_id=body.draft_id, **_decision(body))
    request.app.ctx.metrics.decided(decision, asked_at)
    request.app.ctx.wake_outbox()
    return json({"decision": decision}, status=201)


@api.post("/cases/<case_id>/edit")
@allow(*EVERYONE)
async def edit(request: Request, case_id: str):
    asked_at = time.time()
    body = bodies.parse(request, bodies.Edit)
    text = _text_limit(request, body.text, "text")
    await run(request, request.app.ctx.cases.may_answer, case_id, request.ctx.agent)  # 404, 409 before 422
    findings = findings_of(text, request.app.ctx.policy)
    # Only block findings hold an agent's text back; advice (no polite close, length) comes back
    # with the decision and never needs an override.
    blocks = [f for f in findings if f["severity"] == "block"]
    if blocks and not body.override:
        raise ApiError(422, "etiquette_findings", "the text breaks etiquette rules; fix it or send with \"override\": true", findings=findings)
    decision = await run(request, request.app.ctx.cases.decide, case_id, request.ctx.agent, "edit", text=text,
                         draft_id=body.draft_id, findings_overridden=bool(blocks), written_for_batch=body.written_for,
                         **_decision(body))
    request.app.ctx.metrics.decided(decision, asked_at)
    request.app.ctx.wake_outbox()
    return json({"decision": decision, "findings": findings}, status=201)


@api.post("/cases/<case_id>/reject")
@allow(*EVERYONE)
async def reject(request: Request, case_id: str):
    body = bodies.parse(request, bodies.Reject)
    reason = _text_limit(request, body.reason, "reason")
    # Rejecting drafts never closes the case by itself: it gets fresh drafts, or an empty batch
    # when there is nothing else to offer (fresh_drafts 0: the agent writes the reply).
    rejected = await run(request, request.app.ctx.cases.reject, case_id, request.ctx.agent, reason,
                         batch=body.batch, idempotency_key=body.idempotency_key)
    return json(rejected, status=201)


@api.post("/cases/<case_id>/resolve")
@allow(*EVERYONE)
async def resolve(request: Request, case_id: str):
    bodies.parse(request, bodies.Empty)
    case = await run(request, request.app.ctx.cases.resolve, case_id, request.ctx.agent)
    request.app.ctx.wake_outbox()
    return json({"case": case})


@api.post("/check")
@allow(*EVERYONE)
async def check_text(request: Request):
    text = _text_limit(request, bodies.parse(request, bodies.Check).text, "text")
    # `apply` on each finding: the whole text with that finding fixed (null: a person must fix it).
    return json({"findings": with_fixes(text, findings_of(text, request.app.ctx.policy))})


@api.post("/cases/<case_id>/claim")
@allow(*EVERYONE)
async def claim(request: Request, case_id: str):
    body = bodies.parse(request, bodies.Claim)
    if body.takeover and not is_supervisor(request):
        # An agent hands a case on (transfer); moving one someone else holds is a supervisor's.
        raise ApiError(403, "forbidden", FORBIDDEN)
    result = await run(request, request.app.ctx.cases.claim, case_id, request.ctx.agent, takeover=body.takeover)
    return json({"claim": result})


@api.post("/cases/<case_id>/release")
@allow(*EVERYONE)
async def release(request: Request, case_id: str):
    bodies.parse(request, bodies.Empty)
    return json({"released": await run(request, request.app.ctx.cases.release, case_id, request.ctx.agent)})


@api.post("/cases/<case_id>/concern")
@allow(*EVERYONE)
async def correct_concern(request: Request, case_id: str):
    """"This is a refund, not a complaint": recorded for the bot builders, and fresh drafts."""
    body = bodies.parse(request, bodies.Concern)
    correction = await run(request, request.app.ctx.cases.correct, case_id, request.ctx.agent, body.concern)
    return json({"correction": correction}, status=201)


@api.get("/dead-letters")
@allow(*EVERYONE)
async def list_dead_letters(request: Request):
    """Rasa events the follower gave up on (KEFU_FOLLOWER_MAX_TRIES), oldest first: a message that may
    have needed a case. Each has the event as Rasa published it and the last error."""
    return json({"dead_letters": await run(request, request.app.ctx.store.dead_letters.open_letters)})


@api.post("/dead-letters/<letter_id:int>/resolve")
@allow(*SUPERVISORS)
async def resolve_dead_letter(request: Request, letter_id: int):
    """A person looked at it (and replayed or dismissed it): it no longer counts."""
    bodies.parse(request, bodies.Empty)
    if not await run(request, request.app.ctx.store.dead_letters.resolve, letter_id):
        raise ApiError(404, "not_found", f"no open dead letter {letter_id}")
    return json({"resolved": letter_id})


@api.get("/me")
@allow(*EVERYONE)
async def me(request: Request):
    """Who is signed in and their role, the CSRF token of their browser session, the timer limits,
    the shop's timezone and the words the pages show for concerns, moods and the rest (one table, here)."""
    settings = request.app.ctx.settings
    session = request.ctx.session
    return json({
        "agent": request.ctx.agent,
        "role": request.ctx.role,
        "csrf": session["csrf"] if session else None,
        "timers": {"amber_seconds": settings.wait_amber_seconds, "red_seconds": settings.wait_red_seconds},
        "timezone": request.app.ctx.policy.business_hours.timezone,
        "concerns": list(INTENTS),
        "person_concerns": list(PERSON_CONCERNS),
        "labels": LABELS,
    })
