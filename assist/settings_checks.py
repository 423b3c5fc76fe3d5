"""The checks every setting passes (assist/settings.py declares them): a wrong value, or a value
that cannot work with another, stops the process with a line naming the variable. Inherited by
`Settings`, so these validators name fields declared there."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from pydantic import BaseSettings, validator

ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_CHARS = 32
_BASE64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


PRODUCTION = "production"
PROFILES = ("embedded", PRODUCTION)
# KEFU_PROFILE=production: the databases on KEFU_POSTGRES_URL (Rasa's tracker store and its event
# broker both name their table `events`, so they cannot share one; migrate creates missing ones).
PRODUCTION_DATABASES = {"tracker_url": "kefu_tracker", "events_url": "kefu_events", "store_url": "kefu_suggestions"}


class SettingsChecks(BaseSettings):
    @validator("profile", check_fields=False)
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"must be one of {', '.join(PROFILES)}")
        return value

    @validator("postgres_url", "redis_url", always=True, check_fields=False)
    def _production_services(cls, value: str, values: Dict[str, Any], field) -> str:
        scheme = {"postgres_url": "postgresql://", "redis_url": "redis://"}[field.name]
        if value and not value.startswith(scheme):
            raise ValueError(f"must start with {scheme}")
        if not value and values.get("profile") == PRODUCTION:
            raise ValueError("is required with KEFU_PROFILE=production")
        return value.rstrip("/") if field.name == "postgres_url" else value

    @validator("socketio_redis_url", always=True, check_fields=False)
    def _rooms_in_production_redis(cls, value: str, values: Dict[str, Any]) -> str:
        """Production shares socket.io rooms through KEFU_REDIS_URL unless another Redis is named."""
        return value or (values.get("redis_url") or "" if values.get("profile") == PRODUCTION else "")

    @validator("store_url", "events_url", "tracker_url", "orders_url", always=True, check_fields=False)
    def _default_files(cls, value: str, values: Dict[str, Any], field) -> str:
        production = values.get("profile") == PRODUCTION and field.name != "orders_url"
        if production and value.startswith("sqlite"):
            raise ValueError("is a SQLite file, which several instances cannot share: KEFU_PROFILE=production "
                             "keeps it in PostgreSQL (leave it empty to use KEFU_POSTGRES_URL)")
        if value:
            return value
        if production:
            return f"{values.get('postgres_url') or 'postgresql://unset'}/{PRODUCTION_DATABASES[field.name]}"
        name = {"store_url": "suggestions.db", "events_url": "events.db", "tracker_url": "tracker.db",
                "orders_url": "orders.db"}[field.name]
        return f"sqlite:///{values.get('data_dir', ROOT / '.kefu') / name}"

    @validator("log_dir", always=True, check_fields=False)
    def _default_log_dir(cls, value: Optional[Path], values: Dict[str, Any]) -> Path:
        return Path(value) if value else Path(values.get("data_dir", ROOT / ".kefu")) / "logs"

    @validator("store_url", "events_url", "tracker_url", check_fields=False)
    def _sqlalchemy_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(f"must be a SQLAlchemy URL such as sqlite:///path or postgresql://…, not {value!r}")
        return value

    @validator("orders_url", check_fields=False)
    def _orders_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "http://", "https://")):
            raise ValueError(f"must be sqlite:///path or an http(s) URL, not {value!r}")
        return value

    @validator("action_endpoint", always=True, check_fields=False)
    def _default_action_endpoint(cls, value: str, values: Dict[str, Any]) -> str:
        return value or f"http://127.0.0.1:{values.get('actions_port', 5055)}/webhook"

    @validator("rasa_url", "chat_rasa_url", "wechat_api_url", "action_endpoint", check_fields=False)
    def _http_url(cls, value: str, field) -> str:
        if (value or field.name == "wechat_api_url") and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, not {value!r}")
        return value.rstrip("/")

    @validator("rasa_jwt_secret", always=True, check_fields=False)
    def _long_enough(cls, value: str, values: Dict[str, Any]) -> str:
        if not value and values.get("profile") == PRODUCTION:
            raise ValueError("is required with KEFU_PROFILE=production: every instance signs and checks "
                             "with the same secret, kept in the environment (not generated into a file)")
        if value and len(value) < MIN_SECRET_CHARS:
            raise ValueError(f"must be at least {MIN_SECRET_CHARS} characters (HS256 needs a 256-bit key), got {len(value)}")
        return value

    @validator("retired_rasa_token", check_fields=False)
    def _token_retired(cls, value: str) -> str:
        if value:
            raise ValueError("is no longer used: Rasa's HTTP API takes JWTs signed with KEFU_RASA_JWT_SECRET "
                             "(docs/CONFIGURATION.md); remove RASA_TOKEN")
        return value

    @validator("wechat_aes_key", check_fields=False)
    def _encoding_aes_key(cls, value: str) -> str:
        if value and (len(value) != 43 or not set(value) <= _BASE64):
            raise ValueError("must be the 43 letters and digits of the EncodingAESKey the Official Account shows")
        return value

    @validator("handoff_deadline_seconds", check_fields=False)
    def _answer_before_rasa_gives_up(cls, value: float, values: Dict[str, Any]) -> float:
        limit = values.get("action_timeout_seconds")
        if limit is not None and value >= limit:
            raise ValueError(f"must be below KEFU_ACTION_TIMEOUT_SECONDS ({limit:g})")
        return value

    @validator("wait_red_seconds", check_fields=False)
    def _red_after_amber(cls, value: float, values: Dict[str, Any]) -> float:
        amber = values.get("wait_amber_seconds")
        if amber is not None and value < amber:
            raise ValueError(f"must not be below KEFU_WAIT_AMBER_SECONDS ({amber:g})")
        return value
