"""python -m assist.store migrate | current | revision -m MESSAGE

`migrate` is what `python -m console migrate` runs; `revision` writes a new migration's
skeleton, with what the models (schema.py) changed, against a scratch database at head."""
from __future__ import annotations

import argparse
import sys
import tempfile

from alembic import command

from .db import StoreError
from .migrate import alembic_config, current_revision, head_revision, upgrade


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assist.store", description="the suggestion store's schema")
    sub = parser.add_subparsers(dest="command", required=True)
    migrate = sub.add_parser("migrate", help="bring the store (KEFU_STORE_URL or --url) to the code's schema")
    migrate.add_argument("--url")
    current = sub.add_parser("current", help="print the store's revision and the code's")
    current.add_argument("--url")
    revision = sub.add_parser("revision", help="write a new migration from what schema.py changed")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    if args.command == "revision":
        with tempfile.TemporaryDirectory() as scratch:
            url = f"sqlite:///{scratch}/scratch.db"
            upgrade(url)
            config = alembic_config()
            config.set_main_option("sqlalchemy.url", url)
            command.revision(config, message=args.message, autogenerate=True)
        return 0
    from assist.settings import get_settings
    from .db import make_engine

    url = args.url or get_settings().store_url
    try:
        if args.command == "migrate":
            print(f"suggestion store at revision {upgrade(url)}")
            return 0
        engine = make_engine(url)
        with engine.connect() as db:
            print(f"store {current_revision(db) or '(no schema)'} · code {head_revision()}")
        return 0
    except StoreError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
