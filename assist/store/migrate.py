"""Bringing a suggestion store's schema to the code's: the one migrate step.

`python -m console migrate` (run by `make setup` and `make run`) calls `upgrade()`; nothing
else creates or alters tables. The action server and the console call `require_current()` at
start and refuse to run on a schema that is behind, naming the command.

- An empty database gets every migration.
- A database made by the create_all of earlier versions (tables, no alembic_version) is checked
  against the baseline and stamped at it, then upgraded: nothing is re-created, no row is lost.
- Two migrate steps started together do not race: a PostgreSQL advisory lock, or a lock file
  beside a SQLite database, lets one run while the other waits and then finds nothing to do.
"""
from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Union

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from .db import StoreError, make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"
MIGRATE_COMMAND = "python -m console migrate"
_PG_LOCK_KEY = 0x6B656675  # "kefu": one advisory lock for the migrate step


class SchemaBehind(StoreError):
    code, status = "schema_behind", 503


def alembic_config(connection: Optional[Connection] = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> Optional[str]:
    return MigrationContext.configure(connection).get_current_revision()


def shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def require_current(engine: Engine) -> None:
    """Raise SchemaBehind unless the database is at the code's revision."""
    with engine.connect() as db:
        current = current_revision(db)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaBehind(f"the suggestion store {shown(engine)} has no schema yet: run `{MIGRATE_COMMAND}`")
    if current not in {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}:
        raise SchemaBehind(f"the suggestion store {shown(engine)} is at revision {current}, which this code does not "
                           f"know (a newer release migrated it?); the code needs {head}")
    raise SchemaBehind(f"the suggestion store {shown(engine)} is at revision {current}, the code needs {head}: "
                       f"run `{MIGRATE_COMMAND}`")


def _baseline_columns() -> Dict[str, Set[str]]:
    """The baseline's tables and columns, as the baseline migration builds them."""
    scratch = sa.create_engine("sqlite://")
    with scratch.begin() as empty:
        command.upgrade(alembic_config(empty), BASELINE)
        inspected = sa.inspect(empty)
        return {t: {c["name"] for c in inspected.get_columns(t)} for t in inspected.get_table_names() if t != "alembic_version"}


def _legacy_problems(connection: Connection) -> List[str]:
    """What a pre-migrations database lacks of the baseline (empty: safe to stamp)."""
    have = sa.inspect(connection)
    tables = set(have.get_table_names())
    problems = []
    for table, columns in sorted(_baseline_columns().items()):
        if table not in tables:
            problems.append(f"table {table} is missing")
            continue
        missing = columns - {c["name"] for c in have.get_columns(table)}
        if missing:
            problems.append(f"{table} lacks {', '.join(sorted(missing))}")
    return problems


def _is_legacy(connection: Connection) -> bool:
    return current_revision(connection) is None and sa.inspect(connection).has_table("kefu_cases")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as db:
            db.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            try:
                yield
            finally:
                db.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with open(os.open(f"{database}.migrate-lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    yield


def upgrade(target: Union[str, Engine], revision: str = "head") -> str:
    """Migrate the database (a URL, or an engine) to `revision`; returns the revision it is at after."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with _migration_lock(engine):
            with engine.begin() as db:
                if _is_legacy(db):
                    problems = _legacy_problems(db)
                    if problems:
                        raise StoreError(f"{shown(engine)} has kefu tables but not the baseline schema "
                                         f"({'; '.join(problems)}); it cannot be migrated safely")
                    command.stamp(alembic_config(db), BASELINE)
            with engine.begin() as db:
                command.upgrade(alembic_config(db), revision)
            with engine.connect() as db:
                return current_revision(db) or ""
    finally:
        if isinstance(target, str):
            engine.dispose()


def create_databases(urls: List[str]) -> List[str]:
    """PostgreSQL databases named by `urls` that do not exist yet are created (the production
    profile's three: Rasa's tracker store, its event stream, the suggestion store); the names of
    those made. Concurrent calls take turns (an advisory lock): each database is created once."""
    made = []
    for url in urls:
        target = sa.engine.make_url(url)
        if not target.drivername.startswith("postgresql") or not target.database:
            continue
        if not re.fullmatch(r"[A-Za-z0-9_]+", target.database):
            raise StoreError(f"database name {target.database!r}: create it yourself (kefu creates only plain names)")
        server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
        try:
            with server.connect() as db:
                # Instances migrating together: one checks and creates at a time (CREATE DATABASE has no IF NOT EXISTS).
                db.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY + 1})
                try:
                    if not db.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}).first():
                        db.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
                        made.append(target.database)
                except sa.exc.DBAPIError as error:
                    raise StoreError(f"cannot create database {target.database} on {shown(server)}: "
                                     f"{str(error.orig).splitlines()[0]} (create it, or grant CREATEDB)") from error
                finally:
                    db.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY + 1})
        except sa.exc.OperationalError as error:
            raise StoreError(f"{shown(server)} is unreachable: {str(error).splitlines()[0]}") from error
        finally:
            server.dispose()
    return made
