"""Agents: their roles, API tokens, password hashes and signed-in browser sessions.
(Hashing passwords is console/routes/auth.py's job; only hashes reach the store.)

Who is calling is always read with their role (`identity_for_token`, `web_session`), so a role
changed here holds from the agent's next request on."""
from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import timedelta
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import NotFound, now
from .schema import AGENT, ROLES, agent_passwords, agents, web_sessions


def agent_name(raw: str) -> str:
    """An agent's name as it is stored and looked up: NFKC (full-width letters and digits are
    the ASCII ones), surrounding whitespace of any kind dropped. Sign-in counts failures by it."""
    return unicodedata.normalize("NFKC", raw or "").strip()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Agents:
    def __init__(self, engine: Engine):
        self.engine = engine

    def create_agent(self, name: str, role: Optional[str] = None) -> str:
        """Create an agent (or rotate their token); returns the token, shown once. A new agent's
        role is `role` or agent; rotating a token keeps the role unless one is given."""
        name = agent_name(name)
        if not name or len(name) > 64:
            raise ValueError("agent name must be 1–64 characters")
        _check_role(role)
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as db:
            if db.execute(sa.select(agents.c.name).where(agents.c.name == name)).first() is None:
                db.execute(agents.insert().values(name=name, token_hash=hash_token(token), created_at=now(), role=role or AGENT))
            else:
                changed = {"token_hash": hash_token(token), **({"role": role} if role else {})}
                db.execute(agents.update().where(agents.c.name == name).values(**changed))
        return token

    def set_role(self, name: str, role: str) -> None:
        _check_role(role)
        with self.engine.begin() as db:
            if db.execute(agents.update().where(agents.c.name == name).values(role=role)).rowcount != 1:
                raise NotFound(f"no agent {name}: create it first (python -m console create-agent {name})")

    def role_of(self, name: Optional[str]) -> Optional[str]:
        """The agent's role; None when there is no such agent."""
        if not name:
            return None
        with self.engine.connect() as db:
            return db.execute(sa.select(agents.c.role).where(agents.c.name == name)).scalar()

    def roster(self) -> List[Dict[str, str]]:
        """Every agent with their role, by name."""
        with self.engine.connect() as db:
            return [{"name": r.name, "role": r.role} for r in db.execute(sa.select(agents.c.name, agents.c.role).order_by(agents.c.name))]

    def identity_for_token(self, token: Optional[str]) -> Optional[Dict[str, str]]:
        """{"name", "role"} of the agent whose API token this is, or None."""
        if not token:
            return None
        with self.engine.connect() as db:
            row = db.execute(sa.select(agents.c.name, agents.c.role).where(agents.c.token_hash == hash_token(token))).first()
        return {"name": row.name, "role": row.role} if row else None

    def agent_for_token(self, token: Optional[str]) -> Optional[str]:
        identity = self.identity_for_token(token)
        return identity["name"] if identity else None

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Store an agent's password hash; every browser session they had ends."""
        with self.engine.begin() as db:
            if db.execute(sa.select(agents.c.name).where(agents.c.name == name)).first() is None:
                raise NotFound(f"no agent {name}: create it first (python -m console create-agent {name})")
            db.execute(agent_passwords.delete().where(agent_passwords.c.name == name))
            db.execute(agent_passwords.insert().values(name=name, password_hash=password_hash, updated_at=now()))
            db.execute(web_sessions.delete().where(web_sessions.c.agent == name))

    def password_hash(self, name: str) -> Optional[str]:
        with self.engine.connect() as db:
            return db.execute(
                sa.select(agent_passwords.c.password_hash).join(agents, agents.c.name == agent_passwords.c.name)
                .where(agent_passwords.c.name == name)
            ).scalar()

    def start_web_session(self, agent: str, lifetime: timedelta) -> Dict[str, str]:
        """A new browser session: the cookie token (shown once) and its CSRF token."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        at = now()
        with self.engine.begin() as db:
            db.execute(web_sessions.delete().where(web_sessions.c.expires_at < at))
            db.execute(web_sessions.insert().values(
                token_hash=hash_token(token), agent=agent, csrf_token=csrf, created_at=at, expires_at=at + lifetime,
            ))
        return {"token": token, "csrf": csrf, "agent": agent}

    def web_session(self, token: Optional[str]) -> Optional[Dict[str, Any]]:
        if not token:
            return None
        with self.engine.connect() as db:
            # An agent who no longer exists has no session.
            row = db.execute(sa.select(web_sessions, agents.c.role).join(agents, agents.c.name == web_sessions.c.agent)
                             .where(web_sessions.c.token_hash == hash_token(token))).first()
        if row is None or row.expires_at < now():
            return None
        return {"agent": row.agent, "role": row.role, "csrf": row.csrf_token, "expires_at": row.expires_at.isoformat()}

    def end_web_session(self, token: Optional[str]) -> None:
        if token:
            with self.engine.begin() as db:
                db.execute(web_sessions.delete().where(web_sessions.c.token_hash == hash_token(token)))


def _check_role(role: Optional[str]) -> None:
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
