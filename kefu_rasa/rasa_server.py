"""Rasa's server, started so that no secret is on its command line:

    python -m kefu_rasa.rasa_server --model models/ --port 5005 --endpoints endpoints.yml \\
        --credentials credentials.yml --logging-config-file kefu_rasa/logging.yml

This is `rasa run` in this process, with the HTTP API on and Rasa's JWT auth keyed with
KEFU_RASA_JWT_SECRET (or the secret generated once in KEFU_DATA_DIR/rasa_jwt_secret, 0600): the
arguments given here plus `--enable-api --jwt-secret=… --jwt-method HS256`, handed to Rasa's own
command line parser inside the process. What `ps` and /proc/<pid>/cmdline show is only what was
typed above. Rasa's token auth (`--auth-token`, which Rasa reads only from its command line and
checks only as `?token=` in URLs) stays off, so no request URL carries a secret either; kefu's
Rasa client signs a short-lived JWT per call (assist/integrations/rasa.py).

Refused here: `--auth-token`, `--jwt-secret`, `--jwt-private-key` (a secret on the command line).
Without `--interface`/`-i`, Rasa listens on 127.0.0.1 (Rasa's own default is every address).
With KEFU_PROFILE=production and no `--endpoints`, Rasa reads deploy/production/endpoints.yml, whose
`${…}` entries come from kefu's settings (assist/profile.py): PostgreSQL stores, Redis locks.
Files Rasa creates (its SQLite tracker store, the event broker's file) are readable by this user only.
A tracker store that fails refuses the turn instead of Rasa's fresh, empty conversation
(kefu_rasa/tracker_guard.py).
"""
from __future__ import annotations

import os
import sys
from typing import List, Optional

from assist.integrations.rasa import JWT_METHOD

REFUSED = ("--auth-token", "--jwt-secret", "--jwt-private-key")
LOOPBACK = "127.0.0.1"


def rasa_arguments(argv: List[str], secret: str) -> List[str]:
    """`rasa run` with `argv`, the API on and its JWT auth; ValueError for a secret in `argv`."""
    for word in argv:
        if word.split("=", 1)[0] in REFUSED:
            raise ValueError(f"{word.split('=', 1)[0]} puts a secret on the command line, where every user of this "
                             "machine can read it: set KEFU_RASA_JWT_SECRET (or let kefu generate one) instead")
    words = ["run", *argv]
    if not any(w in ("-i", "--interface") or w.startswith("--interface=") for w in argv):
        words += ["--interface", LOOPBACK]
    # One word, `--jwt-secret=…`: a generated secret may begin with "-", which argparse would
    # otherwise read as the next option and leave --jwt-secret without its value.
    return words + ["--enable-api", f"--jwt-secret={secret}", "--jwt-method", JWT_METHOD]


def main(argv: Optional[List[str]] = None) -> int:
    from assist.profile import endpoints_file, is_production, rasa_environment
    from assist.settings import SettingsError, get_settings, private_files

    private_files()
    given = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = get_settings()
        words = rasa_arguments(given, settings.rasa_api_secret())
    except (SettingsError, ValueError) as error:
        print(f"rasa server: {error}", file=sys.stderr)
        return 2
    if is_production(settings):
        # deploy/production/endpoints.yml names these (${…}); Rasa fills them in when it reads the file.
        os.environ.update(rasa_environment(settings))
        if not any(w in ("--endpoints",) or w.startswith("--endpoints=") for w in given):
            words[1:1] = ["--endpoints", str(endpoints_file(settings))]
    from rasa.__main__ import main as rasa_main

    from kefu_rasa import tracker_guard

    tracker_guard.install()  # before Rasa builds its agent (kefu's channels install it too)

    # Rasa parses sys.argv itself; changing it here changes nothing the kernel shows for this process.
    sys.argv = ["rasa", *words]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
