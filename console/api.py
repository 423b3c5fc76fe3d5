"""The console's JSON API (documented in console/API.md). Every route needs an agent token."""
from __future__ import annotations

import asyncio
import json as jsonlib
from typing import Any, Dict, Optional

from sanic import Blueprint, Request
from sanic.response import json

from assist.checker import check
from assist.store import RESOLVED
from console.errors import ApiError

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


@api.get("/cases")
async def list_cases(request: Request):
    state = request.args.get("state", "open")
    if state not in ("open", "resolved", "cancelled"):
        raise ApiError(400, "bad_field", "state must be open, resolved or cancelled")
    return json({"cases": await run(request, request.app.ctx.store.list_cases, state)})


@api.get("/cases/<case_id>")
async def get_case(request: Request, case_id: str):
    return json(await run(request, request.app.ctx.store.get_case, case_id))


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
    findings = findings_of(text, request.app.ctx.policy)
    if findings and not override:
        raise ApiError(422, "etiquette_findings", "the text breaks etiquette rules; fix it or send with \"override\": true", findings=findings)
    decision = await run(
        request, request.app.ctx.store.decide, case_id, action="edit", text=text,
        draft_id=_int(data, "draft_id"), findings_overridden=bool(findings), **_decision_args(request, data),
    )
    request.app.ctx.wake_outbox()
    return json({"decision": decision, "findings": findings}, status=201)


@api.post("/cases/<case_id>/reject")
async def reject(request: Request, case_id: str):
    data = body(request)
    reason = _text(request, data, "reason")
    args = _decision_args(request, data)
    args["resolve"] = False  # rejecting drafts never closes the case by itself
    decision = await run(request, request.app.ctx.store.decide, case_id, action="reject", reason=reason, **args)
    return json({"decision": decision}, status=201)


@api.post("/cases/<case_id>/resolve")
async def resolve(request: Request, case_id: str):
    body(request)
    case = await run(request, request.app.ctx.store.close_case, case_id, RESOLVED)
    request.app.ctx.wake_outbox()
    return json({"case": case})


@api.post("/check")
async def check_text(request: Request):
    data = body(request)
    text = _text(request, data, "text")
    return json({"findings": findings_of(text, request.app.ctx.policy)})


@api.get("/me")
async def me(request: Request):
    return json({"agent": request.ctx.agent})
