"""Who is calling: agents sign in with a password (browser session cookie + CSRF token) or call
the API with their bearer token. Nothing but /health, the sign-in page, static files and the
customer's web chat is reachable without one of them.

- Passwords are hashed with Argon2id (console/passwords.py); verifying one takes tens of
  milliseconds, so it runs in a thread.
- The session cookie is random, HttpOnly and SameSite=Strict; the store keeps only its hash.
- Every state-changing request on a cookie session carries the session's CSRF token in
  `X-CSRF-Token`. Bearer calls need none: a browser never attaches a bearer token by itself.
"""
from __future__ import annotations

import asyncio
import hmac
import time
from collections import defaultdict, deque
from datetime import timedelta
from typing import Deque, Dict, Optional
from urllib.parse import quote

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, redirect

from assist.store.agents import agent_name
from console import bodies
from console.errors import ApiError, error_body
from console.passwords import verify_password
from console.roles import EVERYONE, allow, refusal

SESSION_COOKIE = "kefu_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset({"/health", "/ready", "/metrics", "/login", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/", "/chat/")

auth = Blueprint("auth")


class LoginThrottle:
    """At most `limit` failed sign-ins per name and address within `window` seconds."""

    def __init__(self, limit: int = 5, window: float = 300.0):
        self.limit, self.window = limit, window
        self.failures: Dict[str, Deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> Deque[float]:
        times = self.failures[key]
        while times and times[0] < time.monotonic() - self.window:
            times.popleft()
        return times

    def blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= self.limit

    def failed(self, key: str) -> None:
        self._recent(key).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        self.failures.pop(key, None)


def public(path: str) -> bool:
    return path in PUBLIC_PATHS or path == "/chat" or path.startswith(PUBLIC_PREFIXES)


def _bearer(request: Request) -> Optional[str]:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


async def identify(request: Request) -> Optional[HTTPResponse]:
    """Request middleware: sets request.ctx.agent and .role (and .session for cookie callers), or
    refuses: 401 without a known token or session, 403 when the route is not for the caller's role."""
    request.ctx.agent, request.ctx.role, request.ctx.session = None, None, None
    # "NONE": the stand-in Sanic makes for a request it could not read (headers over its limit):
    # its own error answers it (431), not a 401 for the headers it never parsed.
    if request.method in ("OPTIONS", "NONE") or public(request.path):
        return None
    store = request.app.ctx.store
    token = _bearer(request)
    if token:
        identity = await asyncio.to_thread(store.agents.identity_for_token, token)
        if identity is None:
            return json(error_body("unauthorized", "unknown agent token"), status=401)
        request.ctx.agent, request.ctx.role = identity["name"], identity["role"]
        return refusal(request)
    session = await asyncio.to_thread(store.agents.web_session, request.cookies.get(SESSION_COOKIE))
    if session is None:
        if request.path.startswith("/api/") or request.method not in SAFE_METHODS:
            return json(error_body(
                "unauthorized", "sign in at /login, or send 'Authorization: Bearer <agent token>' (python -m console create-agent NAME)",
            ), status=401)
        return redirect(f"/login?next={quote(request.path)}")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or ""
        if not hmac.compare_digest(sent.encode(), session["csrf"].encode()):
            return json(error_body("csrf", "missing or wrong X-CSRF-Token header; reload the page"), status=403)
    request.ctx.agent, request.ctx.role, request.ctx.session = session["agent"], session["role"], session
    return refusal(request)


def _set_session_cookie(response: HTTPResponse, value: str, max_age: int, secure: bool) -> None:
    response.cookies[SESSION_COOKIE] = value
    cookie = response.cookies[SESSION_COOKIE]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age
    if secure:
        cookie["secure"] = True


def media_type(request: Request) -> str:
    """The request's media type alone: `application/json; charset=utf-8` → `application/json`."""
    return (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


@auth.post("/login")
async def login(request: Request):
    # JSON only: a cross-site form cannot send it, so nobody signs an agent in to their account.
    # The media type itself, not a substring (`text/plain; application/json` is a form-safe type).
    if media_type(request) != "application/json":
        raise ApiError(415, "json_only", "send the sign-in as JSON: {\"name\": …, \"password\": …}")
    body = bodies.parse(request, bodies.Login)
    # One name for the throttle and the lookup: "tester2 " or "\ttester2" counted apart once gave
    # five more guesses each.
    name, password = agent_name(body.name), body.password
    if not name:
        raise ApiError(400, "missing_field", "'name' must not be empty")
    app = request.app
    key = f"{name}|{request.remote_addr or request.ip}"
    if app.ctx.login_throttle.blocked(key):
        raise ApiError(429, "too_many_attempts", "登录失败次数太多，请五分钟后再试")
    stored = await asyncio.to_thread(app.ctx.store.agents.password_hash, name)
    if not await asyncio.to_thread(verify_password, stored, password):
        app.ctx.login_throttle.failed(key)
        raise ApiError(401, "bad_credentials", "wrong name or password")
    app.ctx.login_throttle.succeeded(key)
    settings = app.ctx.settings
    lifetime = timedelta(hours=settings.session_hours)
    session = await asyncio.to_thread(app.ctx.store.agents.start_web_session, name, lifetime)
    response = json({"agent": session["agent"], "csrf": session["csrf"]})
    _set_session_cookie(response, session["token"], int(lifetime.total_seconds()), settings.cookie_secure)
    return response


@auth.post("/logout")
@allow(*EVERYONE)
async def logout(request: Request):
    await asyncio.to_thread(request.app.ctx.store.agents.end_web_session, request.cookies.get(SESSION_COOKIE))
    response = json({"signed_out": True})
    _set_session_cookie(response, "", 0, request.app.ctx.settings.cookie_secure)
    return response
