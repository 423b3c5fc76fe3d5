"""python -m console serve | create-agent NAME [--password] | set-password NAME"""
from __future__ import annotations

import argparse
import logging
import sys

from console.settings import Settings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console", description="kefu-assist agent console")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the console (API and workers) on 127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    create = sub.add_parser("create-agent", help="create an agent (or rotate their token) and print the token once")
    create.add_argument("name")
    create.add_argument("--password", action="store_true", help="also set a password for signing in to the console pages")
    password = sub.add_parser("set-password", help="set an agent's console password (asked twice; or one line on stdin)")
    password.add_argument("name")
    args = parser.parse_args(argv)

    settings = Settings.from_env(**({"port": args.port} if getattr(args, "port", None) else {}))
    if args.command == "create-agent":
        from assist.store import SuggestionStore

        try:
            token = SuggestionStore(settings.store_url).create_agent(args.name)
        except ValueError as error:
            print(f"create-agent: {error}", file=sys.stderr)
            return 2
        print(f"agent {args.name} created; API token (shown once):\n{token}")
        return _set_password(settings, args.name) if args.password else 0
    if args.command == "set-password":
        return _set_password(settings, args.name)

    from console.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, access_log=False, workers=1)
    return 0


def _read_password() -> str:
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _set_password(settings: Settings, name: str) -> int:
    from assist.store import NotFound, SuggestionStore
    from console.auth import PasswordError, hash_password

    try:
        SuggestionStore(settings.store_url).set_password_hash(name, hash_password(_read_password()))
    except (PasswordError, ValueError, NotFound) as error:
        print(f"set-password: {error}", file=sys.stderr)
        return 2
    print(f"password set for {name}; sign in at http://{settings.host}:{settings.port}/login")
    return 0


if __name__ == "__main__":
    sys.exit(main())
