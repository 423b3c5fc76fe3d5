"""Agents: their API tokens, password hashes and signed-in browser sessions.
(Hashing passwords is console/routes/auth.py's job; only hashes reach the store.)"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import NotFound, now
from .schema import agent_passwords, agents, web_sessions


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Agents:
    def __init__(self, engine: Engine):
        self.engine = engine

    def create_agent(self, name: str) -> str:
        """Create an agent (or rotate their token); returns the token, shown once."""
        if not name or len(name) > 64:
            raise ValueError("agent name must be 1–64 characters")
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as db:
            db.execute(agents.delete().where(agents.c.name == name))
            db.execute(agents.insert().values(name=name, token_hash=hash_token(token), created_at=now()))
        return token

    def agent_for_token(self, token: Optional[str]) -> Optional[str]:
        if not token:
            return None
        with self.engine.connect() as db:
            return db.execute(sa.select(agents.c.name).where(agents.c.token_hash == hash_token(token))).scalar()

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
            row = db.execute(sa.select(web_sessions).where(web_sessions.c.token_hash == hash_token(token))).first()
        if row is None or row.expires_at < now():
            return None
        return {"agent": row.agent, "csrf": row.csrf_token, "expires_at": row.expires_at.isoformat()}

    def end_web_session(self, token: Optional[str]) -> None:
        if token:
            with self.engine.begin() as db:
                db.execute(web_sessions.delete().where(web_sessions.c.token_hash == hash_token(token)))
