"""The fault matrix (issue 15): the agent-assist loop on the real processes while one of them fails.

For each fault a fresh web-chat (socket.io) customer and a fresh callback customer complain, an
agent approves their drafts, and the fault hits: kill -9 and SIGSTOP of Rasa, the action server
and the console, the store read-only, Rasa slow past the console's timeout, the console killed
mid-push, the callback client refusing, the customer's socket dropped while the reply is sent.
Printed: replies seen exactly once, duplicates the customers saw, copies their clients dropped by
delivery id, replies lost, complaints without a case, and the longest a customer waited for a
first answer. The same scenarios are tests/integration/test_faults.py; details in
kefu_rasa/dev/faults.py (timeouts shortened there: FAULT_ENV).

    .venv/bin/python bench/faults.py [--only "store read-only 5 s" ...] [--control no-catch-up]

`--control` switches one protection off (the customers' dedup by id, the web chat's catch-up, or
kefu's callback channel for Rasa's own) to show what it prevents: those tables are expected to fail.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from assist.store import SuggestionStore  # noqa: E402
from kefu_rasa.dev.callback_inbox import CallbackInbox  # noqa: E402
from kefu_rasa.dev.faults import CONTROLS, FAULT_ENV, FAULTS, HEADER, apply_control, run_fault, start_fault_stack  # noqa: E402
from kefu_rasa.dev.model_cache import ensure_model  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(FAULTS), help="run these faults only")
    parser.add_argument("--control", choices=list(CONTROLS), help="switch one protection off (expected to fail)")
    args = parser.parse_args()
    if args.control:
        apply_control(args.control)
    model = ensure_model(log=lambda m: print(m, file=sys.stderr))
    inbox = CallbackInbox()
    print("starting Rasa, the action server and the console…", file=sys.stderr)
    stack = start_fault_stack(model, Path(tempfile.mkdtemp(prefix="kefu-faults-")), inbox, control=args.control)
    token = SuggestionStore(stack.store_url).agents.create_agent("fault-agent")
    rows, began = [], time.monotonic()
    try:
        for name in args.only or FAULTS:
            started = time.monotonic()
            rows.append(run_fault(name, stack, inbox, token))
            print(f"{rows[-1].line()}  ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    finally:
        stack.stop(timeout=3)  # its files are thrown away: no need for Sanic's 15 s grace
        inbox.close()
    only = (' --only ' + " ".join(f'"{name}"' for name in args.only)) if args.only else ""
    only += f" --control {args.control}" if args.control else ""
    print("# Fault matrix — approved replies exactly once, no case lost, nobody silent over 10 s\n")
    if args.control:
        print(f"Control run: {CONTROLS[args.control]}.\n")
    print(f"command: `.venv/bin/python bench/faults.py{only}` · {time.strftime('%Y-%m-%d %H:%M')} · "
          f"{len(rows)} faults in {time.monotonic() - began:.0f} s · one Rasa, one action server, one console, SQLite "
          "stores · short timeouts: " + ", ".join(f"{k}={v}" for k, v in FAULT_ENV.items()) + "\n")
    print(HEADER)
    for row in rows:
        print(row.line())
    bad = [row.fault for row in rows if not row.ok]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} faults: every approved reply seen once by a socket.io and a callback "
          f"customer, no case lost, no silence over 10 s." + (f" Failed: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
