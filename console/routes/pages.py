"""The agents' pages (static HTML + vanilla JS over the JSON API; no build step) and the
security headers every response carries.

The pages never build HTML from data: every customer or agent text goes in with textContent.
The Content-Security-Policy allows scripts and styles from this origin only (no inline code),
so even a slip could not run a customer's <script>.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, file

from console.roles import EVERYONE, SUPERVISORS, allow

STATIC = Path(__file__).resolve().parent.parent / "static"
pages = Blueprint("pages")


async def _page(name: str) -> HTTPResponse:
    return await file(STATIC / name, mime_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


@pages.get("/")
@allow(*EVERYONE)
async def console_page(request: Request):
    return await _page("console.html")


@pages.get("/history")
@allow(*EVERYONE)
async def history_page(request: Request):
    return await _page("history.html")


@pages.get("/team")
@allow(*SUPERVISORS)
async def team_page(request: Request):
    return await _page("team.html")


@pages.get("/login")
async def login_page(request: Request):
    return await _page("login.html")


@pages.get("/favicon.ico")
async def favicon(request: Request):
    return await file(STATIC / "favicon.svg", mime_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


def _origins(url: str) -> str:
    """http://host:port → the http and ws origins socket.io uses."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    ws = "wss" if parts.scheme == "https" else "ws"
    return f"{parts.scheme}://{parts.netloc} {ws}://{parts.netloc}"


def content_security_policy(path: str, settings) -> str:
    common = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
    if path == "/chat" or path.startswith("/chat/"):
        rasa = _origins(settings.chat_rasa_url or settings.rasa_url)
        return f"{common}; connect-src 'self' {rasa}; frame-ancestors {settings.chat_frame_ancestors}"
    return f"{common}; connect-src 'self'; frame-ancestors 'none'"


def add_security_headers(app: Sanic) -> None:
    static_root = str(STATIC)

    @app.middleware("response")
    async def security_headers(request: Request, response: HTTPResponse):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if (response.content_type or "").startswith("text/html"):
            headers["Content-Security-Policy"] = content_security_policy(request.path, app.ctx.settings)
            if not request.path.startswith("/chat"):
                headers["X-Frame-Options"] = "DENY"

    app.static("/static", static_root, name="static")
