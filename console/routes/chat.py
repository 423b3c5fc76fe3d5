"""The customer's side: the web-chat page and the small public API it uses beside Rasa's
socket.io channel (which carries the conversation itself).

kefu's socket.io channel (kefu_rasa/channels.py) sends each message with its id and sender;
the page asks here whether a person has the case (the suggestion store knows). The page also
reads its history here (from Rasa's tracker, so messages that came while the tab was closed are
there, each with the id the socket gave it), tells us the shop's order or customer id, and sends
the satisfaction rating after a case is resolved.

A session id (random uuid4, made by the page) is the only key: whoever holds it could read
the conversation on Rasa's socket anyway, so these routes reveal nothing more.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional
from urllib.parse import quote

from sanic import Blueprint, Request
from sanic.response import file, json

from assist.cases.messages import image_of
from assist.integrations.rasa import RasaUnavailable, message_id
from assist.store import OPEN, RESOLVED
from assist.store.db import now as store_now
from console import bodies
from console.errors import ApiError
from console.routes.pages import STATIC
SESSION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CONTEXT_KEYS = ("order_id", "customer_id")
RATE_WITHIN = timedelta(days=1)
HISTORY_LIMIT = 200

chat = Blueprint("chat", url_prefix="/chat")


def _session(session_id: str) -> str:
    if not SESSION_ID.match(session_id or ""):
        raise ApiError(404, "not_found", "no such chat session")
    return session_id


@chat.get("/")
async def page(request: Request):
    return await file(STATIC / "chat.html", mime_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


@chat.get("/embed.js")
async def embed(request: Request):
    return await file(STATIC / "embed.js", mime_type="text/javascript; charset=utf-8", headers={"Cache-Control": "max-age=300"})


@chat.get("/config.json")
async def config(request: Request):
    settings = request.app.ctx.settings
    return json({
        "rasa_url": settings.chat_rasa_url or settings.rasa_url,
        "socket_path": "/socket.io",
        "context_must_be_signed": bool(settings.chat_context_secret),
        "image_max_bytes": settings.image_max_bytes,  # the page says so before uploading a larger photo
    })


def session_status(store, conversation_id: str, now: datetime) -> Dict[str, Any]:
    case = store.cases.latest_case_for(conversation_id)
    if case is None:
        return {"answering": "bot", "case": None, "person_texts": [], "rate": None}
    state = case["state"]
    resolved_at = datetime.fromisoformat(case["resolved_at"]) if case.get("resolved_at") else None
    rate = None
    if state == RESOLVED and case.get("rating") is None and resolved_at and now - resolved_at <= RATE_WITHIN:
        rate = {"case_id": case["id"]}
    return {
        "answering": "person" if state == OPEN else "bot",
        # A person has opened the case (the customer is told someone is on it, not who).
        "case": {"state": state, "person_joined": bool(case.get("claimed_by")) or bool(case["agent_texts"]), "rating": case.get("rating")},
        "person_texts": case["agent_texts"][-20:],
        "rate": rate,
    }


@chat.get("/api/sessions/<session_id>")
async def status(request: Request, session_id: str):
    conversation_id = _session(session_id)
    return json(await asyncio.to_thread(session_status, request.app.ctx.store, conversation_id, store_now()))


def image_url(session_id: str, image_id: str) -> str:
    """Where the customer's page fetches a photo of theirs (console/routes/images.py)."""
    return f"/chat/api/sessions/{session_id}/images/{quote(image_id, safe='')}"


def transcript(events: List[Dict[str, Any]], since: Optional[float] = None,
               session_id: Optional[str] = None) -> List[Dict[str, Any]]:
    """The conversation as the page shows it. Each bot message has the id the live socket gave it
    (a pushed message's delivery id, shown once even if Rasa stored it twice) and its time;
    `since`: only what came after that time (what a returning page missed). A customer's photo
    comes with its `image` URL (`session_id`'s own)."""
    said, seen = [], set()
    for event in events:
        text = event.get("text")
        at = event.get("timestamp") or 0
        if not text or (since is not None and at <= since):
            continue
        if event.get("event") == "user":
            said.append({"sender": "customer", "text": text, "id": f"u{float(at):.6f}", "timestamp": at})
            image_id = image_of(event.get("metadata"))
            if image_id and session_id:
                said[-1]["image"] = image_url(session_id, image_id)
        elif event.get("event") == "bot":
            key = message_id(event)
            if key in seen:
                continue
            seen.add(key)
            sender = (event.get("metadata") or {}).get("kefu_sender")
            said.append({"sender": "agent" if sender == "agent" else "bot", "text": text, "id": key, "timestamp": at})
    return said[-HISTORY_LIMIT:]


@chat.get("/api/sessions/<session_id>/history")
async def history(request: Request, session_id: str):
    conversation_id = _session(session_id)
    since = request.args.get("since")
    try:
        since = float(since) if since is not None else None
    except ValueError:
        raise ApiError(400, "bad_field", "since must be a time in seconds (a message's timestamp)") from None
    try:
        events = await asyncio.to_thread(request.app.ctx.rasa.events, conversation_id)
    except RasaUnavailable:
        raise ApiError(503, "rasa_unavailable", "the conversation history is not reachable right now") from None
    return json({"messages": transcript(events, since, conversation_id)})


def _signature(secret: str, context: Dict[str, str]) -> str:
    message = "|".join(context.get(key, "") for key in CONTEXT_KEYS)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@chat.post("/api/sessions/<session_id>/context")
async def context(request: Request, session_id: str):
    """The shop's page passes the order or customer id, so the agent has the facts before the
    customer types them. With KEFU_CHAT_CONTEXT_SECRET set, the shop's server signs them."""
    conversation_id = _session(session_id)
    body = bodies.parse(request, bodies.ChatContext)  # each id: 1–64 letters, digits or _ . : -
    values = {key: getattr(body, key) for key in CONTEXT_KEYS if getattr(body, key)}
    if not values:
        raise ApiError(400, "missing_field", "send 'order_id' and/or 'customer_id'")
    secret = request.app.ctx.settings.chat_context_secret
    verified = False
    if secret:
        if body.sig is None or not hmac.compare_digest(body.sig, _signature(secret, values)):
            raise ApiError(403, "bad_signature", "the shop's signature on this context is missing or wrong")
        verified = True
    await asyncio.to_thread(request.app.ctx.store.customers.set_chat_context, conversation_id, values, verified)
    return json({"context": values, "verified": verified})


@chat.post("/api/sessions/<session_id>/rating")
async def rating(request: Request, session_id: str):
    conversation_id = _session(session_id)
    body = bodies.parse(request, bodies.Rating)
    stored = await asyncio.to_thread(request.app.ctx.store.customers.rate_case, conversation_id, body.case_id, body.score)
    return json({"rating": stored}, status=201)
