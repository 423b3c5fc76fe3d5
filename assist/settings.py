"""Every setting of kefu-assist, from the environment (KEFU_*, RASA_*), validated once at start.

This is the only module that reads environment variables. Each process calls `get_settings()`;
a wrong value stops it with one line per problem that names the variable:

    configuration: KEFU_WAIT_UPDATE_SECONDS: ensure this value is greater than or equal to 0 (got '-5')

Embedded defaults run the whole product on one machine: SQLite files in `.kefu/`, Rasa on 127.0.0.1:5005,
the action server on 5055, the console on 8000. Switches take on/off, true/false, yes/no or 1/0.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional

from pydantic import Field, ValidationError

from assist.private_files import _secret_file, private_dir, private_files
from assist.settings_checks import PRODUCTION, PRODUCTION_DATABASES, ROOT, SettingsChecks

__all__ = ["PRODUCTION", "PRODUCTION_DATABASES", "ROOT", "Settings", "SettingsError", "get_settings", "load_settings",
           "settings_from", "env_name", "private_dir", "private_files"]  # private_*: their home before

UNKNOWN = "unknown"
SECRET_FILE = "rasa_jwt_secret"
SECRETS = ("rasa_jwt_secret", "retired_rasa_token", "orders_token", "chat_context_secret",
           "wechat_app_secret", "wechat_token", "wechat_aes_key", "socketio_redis_url", "postgres_url",
           "redis_url")  # never echoed (a URL may hold a password)


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names the variable."""


class Settings(SettingsChecks):
    # ---- where things are kept -------------------------------------------------------------
    data_dir: Path = Field(ROOT / ".kefu", env="KEFU_DATA_DIR")
    # embedded: one machine on SQLite files. production: PostgreSQL and Redis, several instances
    # (assist/profile.py: the three stores become databases on KEFU_POSTGRES_URL, README "Production").
    profile: str = Field("embedded", env="KEFU_PROFILE")
    postgres_url: str = Field("", env="KEFU_POSTGRES_URL")  # postgresql://user:password@host:5432, no database
    redis_url: str = Field("", env="KEFU_REDIS_URL")  # redis://[:password@]host:6379/0: locks, socket.io rooms
    # Connections per engine (each process has 1–3): N instances must fit PostgreSQL's max_connections.
    sql_pool_size: int = Field(3, env="KEFU_SQL_POOL_SIZE", ge=1)
    sql_max_overflow: int = Field(2, env="KEFU_SQL_MAX_OVERFLOW", ge=0)
    # The suggestion store (cases, decisions, outbox …): any SQLAlchemy URL. Empty: data_dir's SQLite file.
    store_url: str = Field("", env="KEFU_STORE_URL")
    # Rasa's SQL event broker (endpoints.yml: event_broker): the console's follower reads it.
    events_url: str = Field("", env="KEFU_EVENTS_URL")
    # Rasa's SQL tracker store (endpoints.yml: tracker_store): what retention and erasure clean there.
    tracker_url: str = Field("", env="KEFU_TRACKER_URL")
    # Customers' conversations and closed cases are kept this long after their last activity; then
    # `python -m console purge` deletes them (run it daily: README "Customers' data").
    retention_days: int = Field(180, env="KEFU_RETENTION_DAYS", ge=1)
    # SQLite only: how long a write waits for another process's write lock before it fails (503).
    store_lock_seconds: float = Field(30.0, env="KEFU_STORE_LOCK_SECONDS", gt=0)
    # The shop's orders: sqlite:///path (the demo store) or the http(s) URL of the shop's order API.
    orders_url: str = Field("", env="KEFU_ORDERS")
    orders_token: str = Field("", env="KEFU_ORDERS_TOKEN")
    policy_path: Optional[Path] = Field(None, env="KEFU_POLICY")  # empty: assist/shop/policy.yml
    # Real customer messages for evaluation only, read in place (never copied into the project).
    eval_dir: Path = Field(ROOT.parent / "shared" / "eval", env="KEFU_EVAL_DIR")

    # ---- Rasa and the action server ---------------------------------------------------------
    rasa_url: str = Field("http://127.0.0.1:5005", env="KEFU_RASA_URL")
    # Rasa's HTTP API takes JWTs (Authorization header, a minute's life) signed with this secret; Rasa
    # gets it from kefu_rasa.rasa_server, never on a command line. Empty: one generated once into
    # data_dir/rasa_jwt_secret (0600), which every process with the same data_dir reads.
    rasa_jwt_secret: str = Field("", env="KEFU_RASA_JWT_SECRET")
    # Rasa's old ?token= (it leaked into URLs, logs, stored errors and `ps`): no longer read; set, it stops the process.
    retired_rasa_token: str = Field("", env="RASA_TOKEN")
    rasa_port: int = Field(5005, env="KEFU_RASA_PORT", ge=1, le=65535)
    actions_port: int = Field(5055, env="KEFU_ACTIONS_PORT", ge=1, le=65535)
    # Where Rasa calls the action server (deploy/production/endpoints.yml). Empty: this machine's KEFU_ACTIONS_PORT.
    action_endpoint: str = Field("", env="KEFU_ACTION_ENDPOINT")
    # How long Rasa waits for the action server (Rasa's own limit is a fixed 300 s); kefu's channels
    # (kefu_rasa/channels.py) set it when Rasa starts. A turn whose action times out is answered by
    # the console's event follower (holding message and case) instead.
    action_timeout_seconds: float = Field(5.0, env="KEFU_ACTION_TIMEOUT_SECONDS", gt=0)
    # The handoff action answers (holding message, pause) within this even when the store is slow,
    # and finishes the case work afterwards. Below KEFU_ACTION_TIMEOUT_SECONDS.
    handoff_deadline_seconds: float = Field(3.0, env="KEFU_HANDOFF_DEADLINE_SECONDS", gt=0)
    # How long Rasa waits for a callback client to acknowledge a message (kefu's callback channel).
    callback_timeout_seconds: float = Field(5.0, env="KEFU_CALLBACK_TIMEOUT_SECONDS", gt=0)
    # A turn's message the callback client did not take is retried by its Rasa server for this long, then by
    # any Rasa server's sweep (kefu_rasa/callback_retry.py): a server killed mid-retry leaves nobody silent.
    callback_sweep_after_seconds: float = Field(75.0, env="KEFU_CALLBACK_SWEEP_AFTER_SECONDS", gt=0)
    # The longest customer message kefu's channels pass to Rasa (REST: 400 too_long; socket.io: kefu_error).
    max_message_chars: int = Field(10_000, env="KEFU_MAX_MESSAGE_CHARS", ge=1)
    model_version: str = Field(UNKNOWN, env="KEFU_MODEL_VERSION")  # with each batch of drafts: acceptance per release
    socketio_redis_url: str = Field("", env="KEFU_SOCKETIO_REDIS_URL", regex=r"^((rediss?|unix)://.+)?$")  # shared rooms

    # ---- the console -----------------------------------------------------------------------
    console_host: str = Field("127.0.0.1", env="KEFU_CONSOLE_HOST")
    console_port: int = Field(8000, env="KEFU_CONSOLE_PORT", ge=1, le=65535)
    http_timeout: float = Field(5.0, env="KEFU_HTTP_TIMEOUT", gt=0)
    poll_seconds: float = Field(0.05, env="KEFU_POLL_SECONDS", gt=0)
    # On PostgreSQL the follower is woken by Rasa's new events (console/workers/event_wake.py) and
    # reads on its own only this often (a notification lost while its connection was down).
    follower_fallback_seconds: float = Field(1.0, env="KEFU_FOLLOWER_FALLBACK_SECONDS", gt=0)
    # The outbox is woken at once by what this console queues (an approval, the follower's holding
    # message, a wait update); it looks on its own only for texts due later (a retry's backoff, an
    # attempt a dead console left) or queued by a console that runs no workers.
    outbox_poll_seconds: float = Field(0.5, env="KEFU_OUTBOX_POLL_SECONDS", gt=0)
    # No decision within this long → the customer gets an honest "still on it" update.
    wait_update_seconds: float = Field(180.0, env="KEFU_WAIT_UPDATE_SECONDS", ge=0)
    max_wait_updates: int = Field(2, env="KEFU_MAX_WAIT_UPDATES", ge=0)
    # Nobody answered the customer for this long → the case is handed back to the bot, honestly
    # (the customer is told, the case is closed as abandoned and stays searchable). 0: never.
    abandon_after_seconds: float = Field(1800.0, env="KEFU_ABANDON_AFTER_SECONDS", ge=0)
    # Outbox retries: 1 s, 2 s, 4 s … capped; given up (shown as failed) after this many.
    retry_max_seconds: float = Field(60.0, env="KEFU_RETRY_MAX_SECONDS", ge=0)
    max_attempts: int = Field(50, env="KEFU_MAX_ATTEMPTS", ge=1)
    # Conversations the outbox serves at once (each one's texts in order); every one may hold a
    # store connection, so it stays below KEFU_SQL_POOL_SIZE + KEFU_SQL_MAX_OVERFLOW.
    outbox_workers: int = Field(3, env="KEFU_OUTBOX_WORKERS", ge=1, le=16)
    follow_events: bool = Field(True, env="KEFU_FOLLOW_EVENTS")
    # An event the follower cannot handle is tried this often, then kept as a dead letter the
    # console shows (a store outage is waited out, never counted: the event is retried until it works).
    follower_max_tries: int = Field(5, env="KEFU_FOLLOWER_MAX_TRIES", ge=1)
    # A failing worker step (store or Rasa unavailable) is retried after 0.05 s, 0.1 s … up to this.
    worker_backoff_max_seconds: float = Field(5.0, env="KEFU_WORKER_BACKOFF_MAX_SECONDS", gt=0)
    max_edit_chars: int = Field(1000, env="KEFU_MAX_EDIT_CHARS", ge=1)
    wait_amber_seconds: float = Field(60.0, env="KEFU_WAIT_AMBER_SECONDS", ge=0)  # queue colours: 3-minute response rates
    wait_red_seconds: float = Field(180.0, env="KEFU_WAIT_RED_SECONDS", ge=0)
    live_poll_seconds: float = Field(0.1, env="KEFU_LIVE_POLL_SECONDS", gt=0)
    session_hours: float = Field(12.0, env="KEFU_SESSION_HOURS", gt=0)  # one shift
    cookie_secure: bool = Field(False, env="KEFU_COOKIE_SECURE")  # on behind HTTPS
    # Rasa's socket.io as the customer's browser reaches it (a public URL behind a proxy).
    chat_rasa_url: str = Field("", env="KEFU_CHAT_RASA_URL")  # empty: rasa_url
    chat_frame_ancestors: str = Field("*", env="KEFU_CHAT_FRAME_ANCESTORS")  # who may embed the web chat
    chat_context_secret: str = Field("", env="KEFU_CHAT_CONTEXT_SECRET")  # set: the shop's ids must be signed
    image_max_bytes: int = Field(8_000_000, env="KEFU_IMAGE_MAX_BYTES", ge=1000)  # a customer's photo (console/images.py)
    image_max_pixels: int = Field(40_000_000, env="KEFU_IMAGE_MAX_PIXELS", ge=10_000)  # more: refused (decompression bombs)
    images_per_minute: int = Field(6, env="KEFU_IMAGES_PER_MINUTE", ge=1)  # per conversation

    # ---- learning from agents' decisions ----------------------------------------------------
    learning: bool = Field(True, env="KEFU_LEARNING")
    learning_refresh_seconds: float = Field(300.0, env="KEFU_LEARNING_REFRESH_SECONDS", gt=0)

    # ---- running it: supervision, readiness, logs --------------------------------------------
    # `make run` restarts a process that dies, after 1 s, 2 s, 4 s … (at most this long) …
    restart_max_delay: float = Field(30.0, env="KEFU_RESTART_MAX_DELAY_SECONDS", gt=0)
    # … and gives up (stops everything, exits 1) when one died again after this many restarts in the window (0: never).
    restart_limit: int = Field(5, env="KEFU_RESTART_LIMIT", ge=0)
    restart_window_seconds: float = Field(300.0, env="KEFU_RESTART_WINDOW_SECONDS", gt=0)
    # /ready is false while the follower's oldest unread event, or the oldest due delivery, is older.
    ready_follower_lag_seconds: float = Field(30.0, env="KEFU_READY_FOLLOWER_LAG_SECONDS", gt=0)
    ready_outbox_seconds: float = Field(60.0, env="KEFU_READY_OUTBOX_SECONDS", gt=0)
    log_dir: Optional[Path] = Field(None, env="KEFU_LOG_DIR")  # empty: data_dir/logs
    log_max_mb: float = Field(10.0, env="KEFU_LOG_MAX_MB", gt=0)  # one log file, before it rotates
    log_backups: int = Field(5, env="KEFU_LOG_BACKUPS", ge=0)      # rotated files kept per process
    # Of the warnings logged from one place (a failure loop), five are written per this long.
    log_repeat_seconds: float = Field(60.0, env="KEFU_LOG_REPEAT_SECONDS", ge=0)

    # ---- WeChat Official Account (kefu_rasa.wechat.WeChatInput in credentials.yml) ----------
    wechat_app_id: str = Field("", env="KEFU_WECHAT_APP_ID")            # 开发者ID(AppID)
    wechat_app_secret: str = Field("", env="KEFU_WECHAT_APP_SECRET")    # 开发者密码(AppSecret)
    wechat_token: str = Field("", env="KEFU_WECHAT_TOKEN")              # 服务器配置 → 令牌(Token)
    # 服务器配置 → 消息加解密密钥(EncodingAESKey), 43 characters; needed for safe mode (安全模式).
    wechat_aes_key: str = Field("", env="KEFU_WECHAT_AES_KEY")
    wechat_api_url: str = Field("https://api.weixin.qq.com", env="KEFU_WECHAT_API_URL")
    # WeChat waits 5 s for the passive reply: the first bot message ready within this goes in it.
    wechat_reply_seconds: float = Field(4.0, env="KEFU_WECHAT_REPLY_SECONDS", gt=0, lt=5)
    # Each call to WeChat's API (below KEFU_HTTP_TIMEOUT: a push waits for it inside the console's call).
    wechat_timeout_seconds: float = Field(3.0, env="KEFU_WECHAT_TIMEOUT_SECONDS", gt=0)

    # ---- development ------------------------------------------------------------------------
    chromium: str = Field("", env="KEFU_CHROMIUM")  # the browser tests' Chromium, if not on PATH
    update_screenshots: bool = Field(False, env="KEFU_UPDATE_SCREENSHOTS")  # tests refresh docs/screenshots

    class Config:
        allow_mutation = False
        extra = "forbid"
        env_file = None

    def rasa_api_secret(self) -> str:
        """KEFU_RASA_JWT_SECRET, else the secret generated once in data_dir (what `make run` gives Rasa)."""
        return self.rasa_jwt_secret or _secret_file(Path(self.data_dir) / SECRET_FILE)

    @property
    def eval_messages(self) -> Path:
        return self.eval_dir / "nlu_eval.tsv"

    @property
    def eval_dialogues(self) -> Path:
        return self.eval_dir / "dialogues.jsonl"


def env_name(field: str) -> str:
    """The environment variable behind a setting (for messages)."""
    extra = Settings.__fields__[field].field_info.extra
    return extra.get("env") or field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, `overrides` winning; SettingsError names every bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            field = str(problem["loc"][0])
            name = env_name(field) if field in Settings.__fields__ else field
            given = overrides[field] if field in overrides else os.environ.get(name)
            secret = field in SECRETS
            shown = f" (got {given!r})" if given is not None and "got " not in problem["msg"] and not secret else ""
            lines.append(f"configuration: {name}: {problem['msg']}{shown}")
        raise SettingsError("\n".join(lines)) from None


def settings_from(environment: Mapping[str, str]) -> Settings:
    """The settings a process with `environment` would read (e.g. a child process we start)."""
    given = {}
    for field in Settings.__fields__:
        name = env_name(field)
        if name in environment:
            given[field] = environment[name]
    return load_settings(**given)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """This process's settings, read once. (Tests build their own with load_settings(...).)"""
    return load_settings()
