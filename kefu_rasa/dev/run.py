"""`make run`: start the whole product on loopback, keep it running, stop it all on Ctrl-C.

Before anything starts, the three ports must be free: a busy one is refused, naming the process
that holds it (a leftover of an earlier run, say). Once up, a process that dies is restarted with
backoff; one that keeps dying stops everything and the launcher exits 1 (supervisor.py). Killing
the launcher, even with SIGKILL, takes its children down; `--stop-with-parent` (the Makefile's)
also stops it when `make` itself is killed. Logs: the terminal and KEFU_LOG_DIR (.kefu/logs).
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from assist.logs import EVERY_TIME, configure
from assist.settings import SettingsError, get_settings, private_files
from assist.store import StoreError
from kefu_rasa.dev import ports
from kefu_rasa.dev.model_cache import ensure_model
from kefu_rasa.dev.servers import HOST, Stack, start_stack
from kefu_rasa.dev.supervisor import Child, RestartPolicy, Supervisor, die_with

logger = logging.getLogger("kefu.launcher")
PORT_VARIABLES = {"rasa": "KEFU_RASA_PORT", "actions": "KEFU_ACTIONS_PORT", "console": "KEFU_CONSOLE_PORT"}


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _banner(stack: Stack, settings) -> str:
    return f"""
kefu-assist is running (Ctrl-C stops everything; logs in {settings.log_dir})
  Rasa server     {stack.rasa_url}   (HTTP API: JWTs signed with {settings.data_dir / 'rasa_jwt_secret'} or $KEFU_RASA_JWT_SECRET)
  action server   {stack.actions_url}/health
  agent console   {stack.console_url}/login   (create an agent: .venv/bin/python -m console create-agent 小王 --password)
  customer chat   {stack.console_url}/chat
  readiness       {stack.console_url}/ready   metrics {stack.console_url}/metrics
Try it:
  curl -s {stack.rasa_url}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
       -d '{{"sender": "demo-1", "message": "你好，我的订单1234567890到哪了"}}'
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kefu_rasa.dev.run", description="start kefu-assist on 127.0.0.1")
    parser.add_argument("--stop-with-parent", action="store_true", help="stop everything when the parent (make) dies")
    args = parser.parse_args(argv)
    private_files()  # the stores, the secret and the logs: this user only (the children inherit it)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    configure("launcher", settings)
    if args.stop_with_parent:
        die_with(os.getppid())()
    wanted = {"rasa": settings.rasa_port, "actions": settings.actions_port, "console": settings.console_port}
    taken = ports.busy(wanted, HOST)
    if taken:
        for line in taken:
            name = line.split(":", 1)[0]
            logger.error("could not start: %s; stop it, or choose another port with %s", line, PORT_VARIABLES[name],
                         extra=EVERY_TIME)
        return 1
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)  # while starting: start_stack stops what it started
    try:
        model = ensure_model()
        logger.info("starting Rasa (%s:%s), the action server (%s:%s) and the console (%s:%s), about 15 s…",
                    HOST, settings.rasa_port, HOST, settings.actions_port, HOST, settings.console_port)
        stack = start_stack(
            model, settings.data_dir / "run", data_dir=settings.data_dir, rasa_port=settings.rasa_port,
            actions_port=settings.actions_port, console_port=settings.console_port, to_console=True,
            die_with_parent=True,
        )
    except KeyboardInterrupt:
        logger.info("stopped while starting")
        return 0
    except (RuntimeError, StoreError, ValueError) as error:
        logger.error("could not start: %s", error)
        return 1
    children = [
        Child(name, spawn=lambda n=name: stack.spawn(n), answers=lambda n=name: stack.answers(n),
              port=wanted[name], proc=stack.processes[name])
        for name in stack.processes
    ]
    supervisor = Supervisor(children, RestartPolicy(settings.restart_limit, settings.restart_window_seconds,
                                                    settings.restart_max_delay))
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, supervisor.stop)  # from here on a signal ends supervisor.run(), which stops all
    print(_banner(stack, settings), flush=True)
    for child in children:
        logger.info("%s is up (pid %s)", child.name, child.proc.pid)
    status = supervisor.run()
    logger.info("stopped (exit status %s)", status)
    return status


if __name__ == "__main__":
    sys.exit(main())
