"""python -m console serve | migrate | create-agent NAME [--password] [--role agent|supervisor] |
set-password NAME | set-role NAME agent|supervisor | purge [--days N] [--dry-run] |
erase CONVERSATION_ID… [--containing TEXT] [--dry-run]"""
from __future__ import annotations

import argparse
import sys

from assist.settings import Settings, SettingsError, load_settings, private_dir, private_files
from assist.store.agents import agent_name
from assist.store.schema import ROLES


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console", description="kefu-assist agent console")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the console (API and workers) on 127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    sub.add_parser("migrate", help="bring the suggestion store (KEFU_STORE_URL) to this version's schema")
    create = sub.add_parser("create-agent", help="create an agent (or rotate their token) and print the token once")
    create.add_argument("name")
    create.add_argument("--password", action="store_true", help="also set a password for signing in to the console pages")
    create.add_argument("--role", choices=ROLES, default=None,
                        help="agent (the default for a new agent) or supervisor (sees every agent's load, reassigns, reads the figures); "
                             "rotating a token keeps the role unless given")
    password = sub.add_parser("set-password", help="set an agent's console password (asked twice; or one line on stdin)")
    password.add_argument("name")
    role = sub.add_parser("set-role", help="make an agent an agent or a supervisor (from their next request on)")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    purge = sub.add_parser("purge", help="delete customers' conversations and closed cases older than KEFU_RETENTION_DAYS "
                                         "(run it daily)")
    purge.add_argument("--days", type=int, default=None, help="this many days instead of KEFU_RETENTION_DAYS")
    purge.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    erase = sub.add_parser("erase", help="erase everything kept about one customer's conversations (on their request)")
    erase.add_argument("conversations", nargs="*", metavar="CONVERSATION_ID")
    erase.add_argument("--containing", metavar="TEXT",
                       help="list the conversations whose kept words contain TEXT (a phone or order number); "
                            "erases nothing unless --yes")
    erase.add_argument("--yes", action="store_true", help="with --containing: erase the conversations found")
    erase.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    args = parser.parse_args(argv)
    if getattr(args, "name", None) is not None:
        args.name = agent_name(args.name)  # as sign-in looks it up: " 小王" is 小王
    private_files()  # the store it may create holds customers' words: this user only

    try:
        settings = load_settings(**({"console_port": args.port} if getattr(args, "port", None) else {}))
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "migrate":
        return _migrate(settings)
    from assist.store import SchemaBehind, SuggestionStore

    try:
        store = SuggestionStore(settings.store_url)
    except SchemaBehind as error:
        print(f"console: {error}", file=sys.stderr)
        return 2
    if args.command == "create-agent":
        try:
            token = store.agents.create_agent(args.name, role=args.role)
        except ValueError as error:
            print(f"create-agent: {error}", file=sys.stderr)
            return 2
        print(f"agent {args.name} ({store.agents.role_of(args.name)}) created; API token (shown once):\n{token}")
        return _set_password(store, settings, args.name) if args.password else 0
    if args.command == "set-password":
        return _set_password(store, settings, args.name)
    if args.command == "set-role":
        return _set_role(store, args.name, args.role)
    if args.command in ("purge", "erase"):
        return _privacy(args, settings, store)

    from assist.logs import configure
    from console.app import create_app

    private_dir(settings.data_dir, tighten=True)
    configure("console", settings)  # the terminal and KEFU_LOG_DIR/console.log, secrets scrubbed
    app = create_app(settings, store)
    app.run(host=settings.console_host, port=settings.console_port, access_log=True, workers=1)
    return 0


def _migrate(settings: Settings) -> int:
    from assist.store import StoreError, upgrade
    from assist.store.migrate import create_databases

    try:
        for name in create_databases([settings.tracker_url, settings.events_url, settings.store_url]):
            print(f"migrate: created database {name}")
        revision = upgrade(settings.store_url)
    except StoreError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 2
    print(f"migrate: the suggestion store is at {revision}")
    return 0


def _privacy(args, settings: Settings, store) -> int:
    import json

    from console import retention

    if args.command == "purge":
        if args.days is not None and args.days < 1:
            print("purge: --days must be at least 1", file=sys.stderr)
            return 2
        report = retention.purge(settings, store, args.days, args.dry_run)
    else:
        conversations = list(args.conversations)
        if args.containing:
            found = retention.find(settings, store, args.containing)
            print(json.dumps({"containing": "(given)", "conversations": found}, ensure_ascii=False))
            if not args.yes:
                return 0
            conversations += found
        if not conversations:
            print("erase: name the conversation ids (or --containing TEXT --yes)", file=sys.stderr)
            return 2
        report = retention.erase(settings, store, sorted(set(conversations)), args.dry_run)
    print(json.dumps(report, ensure_ascii=False))
    return 0


def _set_role(store, name: str, role: str) -> int:
    from assist.store import NotFound

    try:
        store.agents.set_role(name, role)
    except NotFound as error:
        print(f"set-role: {error}", file=sys.stderr)
        return 2
    print(f"{name} is now {role}")
    return 0


def _read_password() -> str:
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _set_password(store, settings: Settings, name: str) -> int:
    from assist.store import NotFound
    from console.passwords import PasswordError, hash_password

    try:
        store.agents.set_password_hash(name, hash_password(_read_password()))
    except (PasswordError, ValueError, NotFound) as error:
        print(f"set-password: {error}", file=sys.stderr)
        return 2
    print(f"password set for {name}; sign in at http://{settings.console_host}:{settings.console_port}/login")
    return 0


if __name__ == "__main__":
    sys.exit(main())
