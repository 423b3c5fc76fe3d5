"""Who may call what. Every route names the roles it serves (`@allow(...)`); the request
middleware (console/routes/auth.py) refuses a caller whose role is not among them. A route that
names none is refused to everyone, so a new route cannot be left open by forgetting.

- agent: works the shared queue and their own cases; hands a case to a colleague (transfer).
- supervisor: everything an agent does, plus every agent's load, every open case, reassigning
  (also taking over a case someone else holds) and the figures.
"""
from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Optional

from sanic import Request
from sanic.response import HTTPResponse, json, text

from assist.store import AGENT, SUPERVISOR
from console.errors import error_body

EVERYONE = (AGENT, SUPERVISOR)
SUPERVISORS = (SUPERVISOR,)
FORBIDDEN = "这项操作只有主管可以做"


def allow(*roles: str):
    def mark(handler):
        handler.kefu_roles = frozenset(roles)
        return handler
    return mark


def roles_of(handler) -> Optional[FrozenSet[str]]:
    return getattr(handler, "kefu_roles", None)


def refusal(request: Request) -> Optional[HTTPResponse]:
    """None when the caller's role may use this route; else the 403 to answer. (No route: the
    router answers 404 by itself.)"""
    if request.route is None:
        return None
    roles = roles_of(request.route.handler)
    if roles is not None and request.ctx.role in roles:
        return None
    if request.path.startswith("/api/") or request.method != "GET":
        return json(error_body("forbidden", FORBIDDEN, role=request.ctx.role), status=403)
    return text(f"{FORBIDDEN}。返回工作台：/", status=403)


def is_supervisor(request: Request) -> bool:
    return request.ctx.role == SUPERVISOR


def visible_cases(cases: Iterable[Dict[str, Any]], agent: str, role: Optional[str]) -> List[Dict[str, Any]]:
    """The open cases a caller sees: a supervisor every one; an agent their own and the shared
    queue (cases nobody holds)."""
    if role == SUPERVISOR:
        return list(cases)
    return [c for c in cases if not c.get("claimed_by") or c["claimed_by"] == agent]
