"""How every kefu-assist process logs: one line per event to the terminal and to a rotating file
(KEFU_LOG_DIR/<process>.log), with no secrets in it and no failure loop flooding it.

    configure("console", settings)       # the console, the action server and the launcher
    --logging-config-file kefu_rasa/logging.yml   # Rasa (its own terminal handler stays)

- Secrets are scrubbed from every line (message, arguments, traceback, Sanic's access fields):
  `token=…` and the like in URLs, `--auth-token …` / `--jwt-secret …` (neither is ever passed now),
  `Bearer …`, and the values of this process's own secrets wherever they appear.
- Personal data is masked in every line (PIPL): phone, ID-card, order and tracking numbers, e-mail,
  addresses and names become <手机号>, <地址>, <姓名> … (assist/text/masking.py, what mining uses),
  ids kept whole (UUIDs, hex keys) so an operator still greps a case or a conversation.
- Repeats are limited: of the warnings and errors logged from one place (the same logger and
  message template), five per KEFU_LOG_REPEAT_SECONDS are written; the rest are held back and the
  next one written says how many were, so a worker failing twenty times a second stays readable. Lines that
  must all be written (the launcher's restarts, bounded anyway) pass `extra=EVERY_TIME`.
"""
from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from assist.settings import SECRET_FILE, Settings, get_settings
from assist.text.masking import mask

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HIDDEN = "***"
EVERY_TIME = {"every_time": True}
_SECRET_PATTERNS = (
    # key=value in URLs, query strings and reprs: token=, access_token=, password=, api_key= …
    re.compile(r"(?i)(\b[a-z_-]*(?:token|password|passwd|secret|api[_-]?key)=)[^&\s'\",;)\]]+"),
    re.compile(r"(?i)(--(?:auth-token|jwt-secret|jwt-private-key)[= ]+)\S+"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+"),
)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with secret values replaced by ***."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + HIDDEN, text)
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, HIDDEN)
    return text


# Ids an operator greps by, kept out of the masks (a UUID's last part may be 8+ digits, an "order number").
_IDS = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b|\b[0-9a-f]{32}\b")
_HELD = re.compile("\x00(\\d+)\x00")


def without_personal_data(text: str) -> str:
    """`text` with personal data masked (assist/text/masking.py), ids left whole."""
    held: List[str] = []

    def hold(match: "re.Match[str]") -> str:
        held.append(match.group(0))
        return f"\x00{len(held) - 1}\x00"

    masked = mask(_IDS.sub(hold, text))
    return _HELD.sub(lambda m: held[int(m.group(1))], masked) if held else masked


def own_secrets(settings: Settings) -> List[str]:
    """This process's secrets: Rasa's JWT secret (given or in its file), the order API token, the chat key,
    the WeChat Official Account's secret, token and EncodingAESKey."""
    found = [settings.rasa_jwt_secret, settings.orders_token, settings.chat_context_secret,
             settings.wechat_app_secret, settings.wechat_token, settings.wechat_aes_key]
    secret_file = Path(settings.data_dir) / SECRET_FILE
    if secret_file.exists():
        found.append(secret_file.read_text().strip())
    return [s for s in found if s]


class RepeatLimit:
    """Lets `burst` warnings per (logger, level, message template) through per `seconds`; the
    first one written after some were held back says how many."""

    def __init__(self, seconds: float, burst: int = 5, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.burst = burst
        self.clock = clock
        self.seen: Dict[Tuple[str, int, str], List[float]] = {}  # key → [window start, written, held back]

    def allow(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or self.seconds <= 0 or getattr(record, "every_time", False):
            return True
        key = (record.name, record.levelno, str(record.msg))
        at = self.clock()
        window = self.seen.get(key)
        if window is None or at - window[0] >= self.seconds:
            if window is not None and window[2]:
                record.msg = f"{record.msg} [{int(window[2])} more like this in the last {at - window[0]:.0f} s]"
            window = self.seen[key] = [at, 0, 0]
            if len(self.seen) > 10_000:  # many distinct templates: forget the oldest
                for stale in sorted(self.seen, key=lambda k: self.seen[k][0])[:5_000]:
                    del self.seen[stale]
        if window[1] >= self.burst:
            window[2] += 1
            return False
        window[1] += 1
        return True


class OperatorFilter(logging.Filter):
    """Repeats limited, then secrets scrubbed; decided once per record, whatever handler asks."""

    def __init__(self, repeat_seconds: float, secrets: Iterable[str] = ()):
        super().__init__()
        self.repeats = RepeatLimit(repeat_seconds)
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        verdict = getattr(record, "_kefu_verdict", None)
        if verdict is None:
            verdict = self.repeats.allow(record)
            if verdict:
                self.scrub_record(record)
            record._kefu_verdict = verdict
        return verdict

    def scrub_record(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.clean(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        for field in ("request", "host"):  # Sanic's access-log fields
            value = getattr(record, field, None)
            if isinstance(value, str):
                setattr(record, field, self.clean(value))

    def clean(self, text: str) -> str:
        return without_personal_data(scrub(text, self.secrets))


class LineFormatter(logging.Formatter):
    """One line per record; Sanic's access records read `access GET /path → 200 (123 B) from host`."""

    def __init__(self):
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "sanic.access" and hasattr(record, "request") and not record.msg:
            record.msg = f"{record.request} → {getattr(record, 'status', '?')} ({getattr(record, 'byte', '?')} B) from {getattr(record, 'host', '?')}"
            record.args = ()
        return super().format(record)


def log_file(process: str, settings: Settings) -> Path:
    return Path(settings.log_dir) / f"{process}.log"


def _handlers(process: str, settings: Settings, terminal: bool) -> List[logging.Handler]:
    path = log_file(process, settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handlers: List[logging.Handler] = [logging.handlers.RotatingFileHandler(
        path, maxBytes=int(settings.log_max_mb * 1024 * 1024), backupCount=settings.log_backups, encoding="utf-8",
    )]
    if terminal:
        handlers.append(logging.StreamHandler(sys.stderr))
    check = OperatorFilter(settings.log_repeat_seconds, own_secrets(settings))
    for handler in handlers:
        handler.setFormatter(LineFormatter())
        handler.addFilter(check)
        handler._kefu = True  # ours: replaced, not doubled, when configure() runs again
    return handlers


def configure(process: str, settings: Optional[Settings] = None, terminal: bool = True,
              level: int = logging.INFO) -> Path:
    """Log this process to the terminal (unless `terminal` is off: another handler writes there)
    and to KEFU_LOG_DIR/<process>.log, rotated; returns the file's path."""
    settings = settings or get_settings()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_kefu", False)]:
        root.removeHandler(handler)
        handler.close()
    for handler in _handlers(process, settings, terminal):
        root.addHandler(handler)
    root.setLevel(level)
    return log_file(process, settings)


# ---- factories for logging.config.dictConfig (Rasa's --logging-config-file) -------------------
def file_handler(process: str = "rasa") -> logging.Handler:
    return _handlers(process, get_settings(), terminal=False)[0]


def operator_filter() -> OperatorFilter:
    settings = get_settings()
    return OperatorFilter(settings.log_repeat_seconds, own_secrets(settings))


def log_event(logger: logging.Logger, event: str, case: object, conversation: object, **fields: object) -> None:
    """One line per event, the same shape everywhere so an operator can grep a case or a customer:
    `case_opened case=3f… conversation=c1a… by=action`. Never the customer's words."""
    details = "".join(f" {key}={value}" for key, value in fields.items() if value is not None)
    logger.info("%s case=%s conversation=%s%s", event, case, conversation, details)
