"""The action server, started the way `make run` and the tests start it:

    python -m kefu_rasa.action_server --actions actions --port 5055

It is Rasa SDK's own server (the same arguments) after one check: the suggestion store's schema
is the code's. On a schema that is behind it refuses to start and names the migrate command,
rather than failing on the first customer who needs a person. It also logs to
KEFU_LOG_DIR/actions.log (assist/logs.py), and listens on 127.0.0.1 unless SANIC_HOST is set: keep it
on loopback or a private network that only Rasa reaches."""
from __future__ import annotations

import os
import sys


def main() -> int:
    # Rasa SDK binds 0.0.0.0 unless SANIC_HOST says otherwise. The action server has no authentication
    # and believes any tracker it is sent (it would open a case for any conversation id): loopback by default.
    os.environ.setdefault("SANIC_HOST", "127.0.0.1")
    from assist.logs import configure
    from assist.settings import SettingsError, get_settings, private_files
    from assist.store import SchemaBehind, SuggestionStore

    private_files()
    try:
        settings = get_settings()
        SuggestionStore(settings.store_url)
    except (SchemaBehind, SettingsError) as error:
        print(f"action server: {error}", file=sys.stderr)
        return 2
    # KEFU_LOG_DIR/actions.log beside Rasa SDK's own coloured terminal output (secrets scrubbed).
    configure("actions", settings, terminal=False)
    from rasa_sdk.__main__ import main as run_action_server

    run_action_server()
    return 0


if __name__ == "__main__":
    sys.exit(main())
