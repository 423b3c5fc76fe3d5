"""Start and stop the real kefu-assist processes on loopback.

`make run` and the integration tests use the same code, so what the tests exercise is
what a shop runs: Rasa with its HTTP API behind JWT auth (kefu_rasa/rasa_server.py: no secret on
any command line), the action server and the console.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import requests
import yaml

from assist.integrations.rasa import auth_header
from assist.settings import private_dir, settings_from
from assist.profile import endpoints_file, is_production
from assist.store import upgrade
from assist.store.migrate import create_databases
from kefu_rasa.dev.model_cache import ROOT
from kefu_rasa.dev.supervisor import spawn_process, stop_process

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 20, interval: float = 0.05):
    """Poll until `predicate()` returns something truthy; return it, or None after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(interval)


def write_endpoints(source: Path, target: Path, action_url: str, data_dir: Path) -> Dict[str, str]:
    """A copy of endpoints.yml pointing at this run's action server, with its SQLite files
    (tracker store, event broker) in `data_dir`. Returns the SQLAlchemy URLs of those files."""
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    config.setdefault("action_endpoint", {})["url"] = action_url
    tracker, broker = config.get("tracker_store") or {}, config.get("event_broker") or {}
    where = lambda c: (str(c.get("dialect", "")).lower(), c.get("url"), c.get("port"), c.get("db"))  # noqa: E731
    if str(tracker.get("type", "")).upper() == "SQL" == str(broker.get("type", "")).upper() and where(tracker) == where(broker):
        # Rasa would silently fall back to an in-memory tracker (its ERROR log is easy to miss).
        raise ValueError(
            f"{source}: tracker_store and event_broker point at the same database; Rasa's SQL tracker store "
            "and SQL event broker both name their table `events` — give the event broker its own database"
        )
    urls = {}
    for section in ("tracker_store", "event_broker"):
        store = config.get(section) or {}
        if str(store.get("dialect", "")).lower() == "sqlite":
            store["db"] = str(data_dir / Path(store["db"]).name)
            urls[section] = f"sqlite:///{store['db']}"
    private_dir(data_dir, tighten=True)
    for url in urls.values():
        # WAL is stored in the file: Rasa's own engine then writes while the console reads.
        path = Path(url[len("sqlite:///"):])
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA journal_mode=WAL")
        path.chmod(0o600)  # customers' words: this user only (SQLite gives -wal and -shm the same mode)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return urls


@dataclass
class Stack:
    """The running processes; `stop()` ends every one of them."""

    rasa_url: str
    actions_url: str
    console_url: str
    secret: str  # what Rasa's JWTs are signed with (rasa_auth() makes the header)
    workdir: Path
    store_url: str
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: Dict[str, Path] = field(default_factory=dict)
    commands: Dict[str, List[str]] = field(default_factory=dict)
    env: Dict[str, str] = field(default_factory=dict)
    to_console: bool = False
    project: Path = ROOT
    die_with_parent: bool = False  # the launcher's children: SIGTERM when it dies (supervisor.py)

    def rasa_auth(self) -> Dict[str, str]:
        """The Authorization header for Rasa's HTTP API (a JWT valid for a minute)."""
        return auth_header(self.secret)

    def spawn(self, name: str) -> subprocess.Popen:
        """Start one process without waiting for it (the launcher's supervisor waits)."""
        log_path = self.workdir / f"{name}.log"
        out = None if self.to_console else open(log_path, "a", encoding="utf-8")
        self.processes[name] = spawn_process(self.commands[name], self.env, self.project, out, self.die_with_parent)
        self.logs[name] = log_path
        return self.processes[name]

    def start(self, name: str, timeout: float = 120) -> None:
        """(Re)start one process, e.g. Rasa after a test stopped it to simulate an outage."""
        self.spawn(name)
        _wait_until_up(self, name, HEALTH[name](self), timeout)
        if name == "rasa":
            _wait_for_model(self, timeout)

    def answers(self, name: str, timeout: float = 2) -> bool:
        """One health check, without waiting: does `name` answer (Rasa: with its model loaded)?"""
        try:
            if requests.get(HEALTH[name](self), timeout=timeout).status_code != 200:
                return False
            if name == "rasa":
                status = requests.get(f"{self.rasa_url}/status", headers=self.rasa_auth(), timeout=timeout)
                return status.ok and bool(status.json().get("model_file"))
        except (requests.RequestException, ValueError):
            return False
        return True

    def stop_one(self, name: str, timeout: float = 15) -> None:
        stop_process(self.processes[name], timeout)

    def stop(self, timeout: float = 15) -> None:
        for name in self.processes:
            self.stop_one(name, timeout)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        if not path or not path.exists():
            return ""
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _wait_until_up(stack: Stack, name: str, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    proc = stack.processes[name]
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{stack.log_tail(name)}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not answer {url} within {timeout:.0f} s:\n{stack.log_tail(name)}")


HEALTH = {
    "actions": lambda stack: f"{stack.actions_url}/health",
    "rasa": lambda stack: f"{stack.rasa_url}/",
    "console": lambda stack: f"{stack.console_url}/health",
}


def _wait_for_model(stack: "Stack", timeout: float) -> None:
    """"/" answers before the model is in place; /status (JWT) names the loaded model."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = requests.get(f"{stack.rasa_url}/status", headers=stack.rasa_auth(), timeout=5)
        if status.ok and status.json().get("model_file"):
            return
        time.sleep(0.3)
    raise RuntimeError(f"rasa loaded no model within {timeout:.0f} s:\n{stack.log_tail('rasa')}")


def start_stack(
    model: Path,
    workdir: Path,
    *,
    data_dir: Path,
    rasa_port: int,
    actions_port: int,
    console_port: Optional[int],
    secret: Optional[str] = None,
    credentials: Optional[Path] = None,
    endpoints_source: Optional[Path] = None,
    project: Path = ROOT,
    extra_env: Optional[Dict[str, str]] = None,
    to_console: bool = False,
    timeout: float = 120,
    die_with_parent: bool = False,
) -> Stack:
    """Start the action server, Rasa and the console; return once all answer their health checks.

    SQLite files (tracker store, event broker, suggestion store, demo orders) live in `data_dir`,
    unless the environment points them elsewhere (KEFU_STORE_URL, KEFU_ORDERS, endpoints.yml).
    The suggestion store is migrated first (the one migrate step; the servers refuse a schema
    that is behind).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    actions_url = f"http://{HOST}:{actions_port}"
    endpoints = workdir / "endpoints.yml"
    env = dict(os.environ)  # the children's environment: this one, with the stack's settings
    given = settings_from({**env, **(extra_env or {})})
    if is_production(given):  # deploy/production/endpoints.yml as shipped: Rasa fills it from the settings
        endpoints, urls = endpoints_file(given, str(endpoints_source or "")), {}
        env["KEFU_ACTION_ENDPOINT"] = f"{actions_url}/webhook"
    else:
        urls = write_endpoints(endpoints_source or project / "endpoints.yml", endpoints, f"{actions_url}/webhook", data_dir)
    credentials = credentials or project / "credentials.yml"
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SANIC_HOST=HOST,  # the action server would bind 0.0.0.0 otherwise
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        KEFU_DATA_DIR=str(data_dir),
        KEFU_RASA_URL=f"http://{HOST}:{rasa_port}",
        # Recorded with every batch of drafts (assist/shop/versions.py): acceptance per release.
        KEFU_MODEL_VERSION=Path(model).name.split(".")[0],
    )
    if "event_broker" in urls:
        env.setdefault("KEFU_EVENTS_URL", urls["event_broker"])
    if "tracker_store" in urls:
        env.setdefault("KEFU_TRACKER_URL", urls["tracker_store"])  # where purge and erase find conversations
    if secret:
        env["KEFU_RASA_JWT_SECRET"] = secret
    env.update(extra_env or {})
    settings = settings_from(env)  # what the children will read: one source for every default
    # Without KEFU_RASA_JWT_SECRET the children read the secret file in the data dir: made here, first.
    secret = settings.rasa_api_secret()
    create_databases([settings.tracker_url, settings.events_url, settings.store_url])  # production's (PostgreSQL)
    upgrade(settings.store_url)
    stack = Stack(
        rasa_url=f"http://{HOST}:{rasa_port}", actions_url=actions_url,
        console_url=f"http://{HOST}:{console_port}" if console_port else "", secret=secret, workdir=workdir,
        store_url=settings.store_url, env=env, to_console=to_console, project=project, die_with_parent=die_with_parent,
    )
    commands = stack.commands = {
        "actions": [sys.executable, "-m", "kefu_rasa.action_server", "--actions", "actions", "--port", str(actions_port)],
        # Rasa with its HTTP API behind JWT auth; the secret is read inside the process, never passed here.
        "rasa": [
            sys.executable, "-m", "kefu_rasa.rasa_server", "--model", str(model),
            "--interface", HOST, "--port", str(rasa_port),
            "--endpoints", str(endpoints), "--credentials", str(credentials),
            "--logging-config-file", str(ROOT / "kefu_rasa" / "logging.yml"),
        ],
    }
    if console_port:
        env["KEFU_CONSOLE_PORT"] = str(console_port)
        commands["console"] = [sys.executable, "-m", "console", "serve"]
        # The web chat page (served by the console) falls back to socket.io long-polling when a
        # proxy blocks websockets: that is a cross-origin request Rasa must allow.
        commands["rasa"] += ["--cors", f"http://{HOST}:{console_port}"]
    try:
        for name in commands:
            stack.spawn(name)
        for name in commands:
            _wait_until_up(stack, name, HEALTH[name](stack), timeout)
        _wait_for_model(stack, timeout)
    except BaseException:  # Ctrl-C while starting too: nothing is left running
        stack.stop()
        raise
    return stack
