"""Console settings: environment variables with embedded defaults, validated at start."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


@dataclass(frozen=True)
class Settings:
    store_url: str = f"sqlite:///{ROOT / '.kefu' / 'suggestions.db'}"
    # Rasa's SQL event broker (endpoints.yml: event_broker); the follower reads its `events` table.
    events_url: str = f"sqlite:///{ROOT / '.kefu' / 'events.db'}"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    http_timeout: float = 5.0
    poll_seconds: float = 0.05
    # No decision within this long → the customer gets an honest "still on it" update.
    wait_update_seconds: float = 180.0
    max_wait_updates: int = 2
    # Outbox retries: 1 s, 2 s, 4 s … capped; given up (shown as failed) after this many.
    retry_max_seconds: float = 60.0
    max_attempts: int = 50
    follow_events: bool = True
    max_edit_chars: int = 1000
    # The pages (console, web chat). Waiting-time colours: platforms score 3-minute response rates.
    wait_amber_seconds: float = 60.0
    wait_red_seconds: float = 180.0
    live_poll_seconds: float = 0.1        # how often the live queue looks for changes
    session_hours: float = 12.0           # a signed-in agent's browser session (one shift)
    cookie_secure: bool = False           # set on behind HTTPS (KEFU_COOKIE_SECURE=on)
    # Rasa's socket.io as the customer's browser reaches it (a public URL behind a proxy).
    chat_rasa_url: str = ""               # empty: rasa_url
    chat_frame_ancestors: str = "*"       # who may embed the web chat in a frame (CSP)
    chat_context_secret: str = ""         # set: the shop's order/customer ids must be signed

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        from kefu_rasa.servers import rasa_token  # one token file for Rasa and the console

        env = os.environ
        values = dict(
            store_url=env.get("KEFU_STORE_URL") or cls.store_url,
            events_url=env.get("KEFU_EVENTS_URL") or cls.events_url,
            rasa_url=env.get("KEFU_RASA_URL") or cls.rasa_url,
            rasa_token=env.get("RASA_TOKEN") or rasa_token(),
            host=env.get("KEFU_CONSOLE_HOST") or cls.host,
            port=int(env.get("KEFU_CONSOLE_PORT") or cls.port),
            wait_update_seconds=_float("KEFU_WAIT_UPDATE_SECONDS", cls.wait_update_seconds),
            follow_events=(env.get("KEFU_FOLLOW_EVENTS", "on") != "off"),
            retry_max_seconds=_float("KEFU_RETRY_MAX_SECONDS", cls.retry_max_seconds),
            wait_amber_seconds=_float("KEFU_WAIT_AMBER_SECONDS", cls.wait_amber_seconds),
            wait_red_seconds=_float("KEFU_WAIT_RED_SECONDS", cls.wait_red_seconds),
            session_hours=_float("KEFU_SESSION_HOURS", cls.session_hours),
            cookie_secure=(env.get("KEFU_COOKIE_SECURE", "off") == "on"),
            chat_rasa_url=env.get("KEFU_CHAT_RASA_URL") or cls.chat_rasa_url,
            chat_frame_ancestors=env.get("KEFU_CHAT_FRAME_ANCESTORS") or cls.chat_frame_ancestors,
            chat_context_secret=env.get("KEFU_CHAT_CONTEXT_SECRET") or cls.chat_context_secret,
        )
        values.update(overrides)
        return cls(**values)
