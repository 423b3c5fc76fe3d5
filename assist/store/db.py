"""What every part of the store shares: the engine, the clock, errors, and rows as dicts."""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .schema import OPEN, PENDING, cases

JSON_COLUMNS = ("concerns", "situation", "versions", "conversation")


class StoreError(Exception):
    code = "store_error"
    status = 500


class NotFound(StoreError):
    code, status = "not_found", 404


class WrongState(StoreError):
    code, status = "wrong_state", 409


class AlreadyHandled(StoreError):
    code, status = "already_handled", 409


class UnknownAgent(StoreError):
    """A case handed to a name that is no agent."""
    code, status = "unknown_agent", 404


class StoreUnavailable(StoreError):
    """The database cannot be used right now (read-only, locked, down): try again later."""
    code, status = "store_unavailable", 503


def is_unavailable(error: BaseException) -> bool:
    """The database refused or could not be reached (read-only, locked, gone), as opposed to a
    bug or bad data: worth waiting out and trying again, never worth a traceback per try."""
    if isinstance(error, StoreUnavailable):
        return True
    if isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return True
    return isinstance(error, sa.exc.DBAPIError) and bool(error.connection_invalidated)


def short_error(error: BaseException) -> str:
    """An error in one line, without the SQL statement SQLAlchemy appends (for logs and answers)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0][:300]


class Claimed(StoreError):
    """Another agent has the case; taking it over must be explicit."""
    code, status = "claimed", 409

    def __init__(self, message: str, claimed_by: str):
        super().__init__(message)
        self.claimed_by = claimed_by


def now() -> datetime:
    """The store's clock: aware UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def use_wal(dbapi_connection, _record=None) -> None:
    """SQLite in WAL mode: readers never block the writer, so the action server, the console and
    its workers don't queue behind each other (rollback-journal locks cost hundreds of ms)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _private_file(path: Path) -> None:
    """A new SQLite file readable by this user only (it holds customers' words; SQLite gives its
    -wal and -shm files the same mode), whatever the process's umask."""
    if path.name == ":memory:" or not path.name or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def make_engine(url: str, lock_seconds: Optional[float] = None, reader: bool = False) -> Engine:
    """`reader`: an engine that only reads (Rasa's event stream, polled many times a second). On
    PostgreSQL it neither pings a connection before each use nor wraps each read in a transaction
    (one round trip per read, not four); a connection lost with a restart fails one read, which its
    callers treat as the store unavailable and try again, on a fresh connection."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path.startswith("file:"):  # a SQLite URI filename: sqlite:///file:/path/s.db?mode=ro&uri=true
            Path(path[len("file:"):].split("?")[0]).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        else:
            _private_file(Path(path))
        if lock_seconds is None:
            from assist.settings import get_settings

            lock_seconds = get_settings().store_lock_seconds
        # Rasa's action server and the console write at once: wait for the lock (KEFU_STORE_LOCK_SECONDS),
        # then fail with OperationalError ("database is locked"), which callers treat as unavailable.
        engine = sa.create_engine(url, future=True, connect_args={"timeout": lock_seconds, "check_same_thread": False})
        sa.event.listen(engine, "connect", use_wal)
        return engine
    if url.startswith("sqlite"):  # in memory: one connection, no pool to size
        return sa.create_engine(url, future=True, pool_pre_ping=True)
    from assist.settings import get_settings

    # Each process has a few engines; with several instances they must fit PostgreSQL's connections.
    settings = get_settings()
    return sa.create_engine(url, future=True, pool_pre_ping=not reader, pool_size=settings.sql_pool_size,
                            max_overflow=settings.sql_max_overflow, **({"isolation_level": "AUTOCOMMIT"} if reader else {}))


def as_dict(row) -> Dict[str, Any]:
    """A row as JSON-ready data: JSON columns parsed, times as ISO 8601 with their offset."""
    data = dict(row._mapping)
    for key in JSON_COLUMNS:
        if key in data and isinstance(data[key], str):
            data[key] = json.loads(data[key])
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    return data


def iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if isinstance(value, datetime) else value


def take_attempt(engine: Engine, table: sa.Table, row: Dict[str, Any], lease: timedelta) -> bool:
    """Count an attempt at a pending row (`id`, `state`, `attempts`, `next_attempt_at`) and hold it for `lease`:
    a compare-and-set on the attempt count, so of several workers (processes, machines) one takes each
    attempt; one that dies mid-attempt leaves the row due again after the lease. False: another took it."""
    with engine.begin() as db:
        taken = db.execute(table.update().where(
            table.c.id == row["id"], table.c.state == PENDING, table.c.attempts == row["attempts"],
        ).values(attempts=table.c.attempts + 1, next_attempt_at=now() + lease))
    return taken.rowcount == 1


def require_case(db: Connection, case_id: str, state: Optional[str] = None):
    row = db.execute(sa.select(cases).where(cases.c.id == str(case_id))).first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    if state and row.state != state:
        raise WrongState(f"case {case_id} is {row.state}, not {state}")
    return row


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


__all__ = ["OPEN", "StoreError", "StoreUnavailable", "is_unavailable", "short_error", "NotFound", "WrongState",
           "AlreadyHandled", "Claimed", "UnknownAgent", "now", "make_engine",
           "as_dict", "iso", "require_case", "dumps"]
