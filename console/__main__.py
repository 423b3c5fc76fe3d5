"""python -m console serve | create-agent NAME"""
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
        return 0

    from console.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, access_log=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
