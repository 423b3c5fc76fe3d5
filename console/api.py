"""The console's JSON API (documented in console/API.md). Every route needs an agent token."""
from __future__ import annotations

import asyncio
import json as jsonlib
from typing import Any, Dict, Optional

from sanic import Blueprint, Request
from sanic.response import json

from assist.checker import check
from assist.handoff import prepare
from assist.intents import INTENTS
from assist.store import OPEN, RESOLVED, Claimed
from console.errors import ApiError
from console.fixes import with_fixes
from console.queue import waiting_since

api = Blueprint("api", url_prefix="/api")


def body(request: Request) -> Dict[str, Any]:
    """The request's JSON object, or a clear 400."""
    if not request.body:
        return {}
    try:
        data = jsonlib.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "the request body must be a JSON object")
    return data


def _int(data: Dict[str, Any], key: str, required: bool = False) -> Optional[int]:
    value = data.get(key)
    if value is None:
        if required:
            raise ApiError(400, "missing_field", f"'{key}' is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "bad_field", f"'{key}' must be an integer")
    return value


def _text(request: Request, data: Dict[str, Any], key: str, required: bool = True) -> Optional[str]:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "missing_field", f"'{key}' must be a non-empty string")
    limit = request.app.ctx.settings.max_edit_chars
    if len(value) > limit:
        raise ApiError(400, "too_long", f"'{key}' has {len(value)} characters; the limit is {limit}")
    return value


async def run(request: Request, fn, *args, **kwargs):
    """Store calls are blocking (SQLAlchemy): keep them off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def findings_of(text: str, policy) -> list:
    return [f.to_dict() for f in check(text, policy=policy)]


async def may_answer(request: Request, case_id: str) -> None:
    """A case another agent has claimed is theirs to answer until someone takes it over."""
    holder = await run(request, request.app.ctx.store.claimed_by, case_id)
    if holder and holder != request.ctx.agent:
        raise ApiError(409, "claimed", f"{holder} is answering this case; take it over first", claimed_by=holder)


@api.get("/cases")
async def list_cases(request: Request):
    state = request.args.get("state", "open")
    if state not in ("open", "resolved", "cancelled"):
        raise ApiError(400, "bad_field", "state must be open, resolved or cancelled")
    return json({"cases": await run(request, request.app.ctx.store.list_cases, state)})


@api.get("/cases/<case_id>")
async def get_case(request: Request, case_id: str):
    store = request.app.ctx.store
    case = await run(request, store.get_case, case_id)
    case["waiting_since"] = waiting_since(
        [{"sender": m["sender"], "at": m["at"]} for m in case["messages"]]
    )
    case["shop_context"] = await run(request, store.chat_context, case["conversation_id"])
    return json(case)


def _decision_args(request: Request, data: Dict[str, Any]) -> Dict[str, Any]:
    resolve = data.get("resolve", False)
    if not isinstance(resolve, bool):
        raise ApiError(400, "bad_field", "'resolve' must be true or false")
    key = data.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 128):
        raise ApiError(400, "bad_field", "'idempotency_key' must be a string of 1–128 characters")
    return {"batch": _int(data, "batch"), "resolve": resolve, "idempotency_key": key, "agent": request.ctx.agent}


@api.post("/cases/<case_id>/approve")
async def approve(request: Request, case_id: str):
    data = body(request)
    await may_answer(request, case_id)
    decision = await run(
        request, request.app.ctx.store.decide, case_id, action="approve",
        draft_id=_int(data, "draft_id", required=True), **_decision_args(request, data),
    )
    request.app.ctx.wake_outbox()
    return json({"decision": decision}, status=201)


@api.post("/cases/<case_id>/edit")
async def edit(request: Request, case_id: str):
    data = body(request)
    text = _text(request, data, "text")
    override = data.get("override", False)
    if not isinstance(override, bool):
        raise ApiError(400, "bad_field", "'override' must be true or false")
    await may_answer(request, case_id)
    findings = findings_of(text, request.app.ctx.policy)
    # Only block findings hold an agent's text back; advice (no polite close, length) comes back
    # with the decision and never needs an override.
    blocks = [f for f in findings if f["severity"] == "block"]
    if blocks and not override:
        raise ApiError(422, "etiquette_findings", "the text breaks etiquette rules; fix it or send with \"override\": true", findings=findings)
    decision = await run(
        request, request.app.ctx.store.decide, case_id, action="edit", text=text,
        draft_id=_int(data, "draft_id"), findings_overridden=bool(blocks), **_decision_args(request, data),
    )
    request.app.ctx.wake_outbox()
    return json({"decision": decision, "findings": findings}, status=201)


@api.post("/cases/<case_id>/reject")
async def reject(request: Request, case_id: str):
    data = body(request)
    reason = _text(request, data, "reason")
    await may_answer(request, case_id)
    args = _decision_args(request, data)
    args["resolve"] = False  # rejecting drafts never closes the case by itself
    decision = await run(request, request.app.ctx.store.decide, case_id, action="reject", reason=reason, **args)
    return json({"decision": decision}, status=201)


@api.post("/cases/<case_id>/resolve")
async def resolve(request: Request, case_id: str):
    body(request)
    await may_answer(request, case_id)
    case = await run(request, request.app.ctx.store.close_case, case_id, RESOLVED)
    request.app.ctx.wake_outbox()
    return json({"case": case})


@api.post("/check")
async def check_text(request: Request):
    data = body(request)
    text = _text(request, data, "text")
    # `apply` on each finding: the whole text with that finding fixed (null: a person must fix it).
    return json({"findings": with_fixes(text, findings_of(text, request.app.ctx.policy))})


@api.post("/cases/<case_id>/claim")
async def claim(request: Request, case_id: str):
    data = body(request)
    takeover = data.get("takeover", False)
    if not isinstance(takeover, bool):
        raise ApiError(400, "bad_field", "'takeover' must be true or false")
    try:
        result = await run(request, request.app.ctx.store.claim_case, case_id, request.ctx.agent, takeover=takeover)
    except Claimed as error:
        raise ApiError(409, "claimed", str(error), claimed_by=error.claimed_by) from None
    return json({"claim": result})


@api.post("/cases/<case_id>/release")
async def release(request: Request, case_id: str):
    body(request)
    released = await run(request, request.app.ctx.store.release_claim, case_id, request.ctx.agent)
    return json({"released": released})


@api.post("/cases/<case_id>/concern")
async def correct_concern(request: Request, case_id: str):
    """"This is a refund, not a complaint": recorded for the bot builders, and fresh drafts."""
    data = body(request)
    concern = data.get("concern")
    if concern not in INTENTS:
        raise ApiError(400, "bad_field", f"'concern' must be one of {', '.join(INTENTS)}")
    store = request.app.ctx.store
    correction = await run(request, store.correct_concern, case_id, request.ctx.agent, concern)
    case = await run(request, store.get_case, case_id)
    if case["state"] == OPEN:
        said = [m["text"] for m in case["messages"] if m["sender"] == "customer"]
        facts = (case.get("situation") or {}).get("facts") or {}
        handoff = await run(request, prepare, said[-1] if said else "", concern, None, None, said[:-1], facts, request.app.ctx.policy)
        await run(request, store.redraft, case_id, handoff.situation_dict, handoff.drafts)
    return json({"correction": correction}, status=201)


@api.get("/me")
async def me(request: Request):
    """Who is signed in, the CSRF token of their browser session, and the timer limits."""
    settings = request.app.ctx.settings
    session = request.ctx.session
    return json({
        "agent": request.ctx.agent,
        "csrf": session["csrf"] if session else None,
        "timers": {"amber_seconds": settings.wait_amber_seconds, "red_seconds": settings.wait_red_seconds},
        "concerns": list(INTENTS),
    })
