"""Alembic's entry point for the suggestion store. Run through `python -m console migrate` (or
`alembic upgrade head` in the project root); the URL is the configured store's (KEFU_STORE_URL)
unless the caller passes a connection."""
from __future__ import annotations

from alembic import context

from assist.store.db import make_engine
from assist.store.schema import metadata

config = context.config


def run(connection) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, compare_type=True,
        # SQLite alters a table by copying it: Alembic's batch mode does that.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from assist.settings import get_settings

    url = config.get_main_option("sqlalchemy.url") or get_settings().store_url
    engine = make_engine(url)
    with engine.connect() as own:
        run(own)
    engine.dispose()
