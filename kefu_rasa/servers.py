"""Start and stop the real kefu-assist processes on loopback.

`make run` and the integration tests use the same code, so what the tests exercise is
what a shop runs: `rasa run` with the API behind a token, and the action server.
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import requests
import yaml

from kefu_rasa.model_cache import ROOT

HOST = "127.0.0.1"
DEFAULT_PORTS = {"rasa": 5005, "actions": 5055}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def rasa_token(root: Path = ROOT) -> str:
    """RASA_TOKEN from the environment, else one generated once and kept in .kefu/."""
    if os.environ.get("RASA_TOKEN"):
        return os.environ["RASA_TOKEN"]
    path = root / ".kefu" / "rasa_token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def write_endpoints(source: Path, target: Path, action_url: str, tracker_db: Optional[Path]) -> Path:
    """A copy of endpoints.yml pointing at this run's action server (and tracker database)."""
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    config.setdefault("action_endpoint", {})["url"] = action_url
    tracker = config.get("tracker_store") or {}
    if tracker_db is not None and str(tracker.get("dialect", "")).lower() == "sqlite":
        tracker["db"] = str(tracker_db)
    elif tracker.get("dialect") == "sqlite":
        Path(root_relative(tracker["db"])).parent.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def root_relative(path: str) -> Path:
    return Path(path) if os.path.isabs(path) else ROOT / path


@dataclass
class Stack:
    """The running processes; `stop()` ends every one of them."""

    rasa_url: str
    actions_url: str
    token: str
    workdir: Path
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: Dict[str, Path] = field(default_factory=dict)

    def stop(self, timeout: float = 15) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        if not path or not path.exists():
            return ""
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _spawn(name: str, cmd: List[str], env: Dict[str, str], workdir: Path, to_console: bool) -> tuple:
    log_path = workdir / f"{name}.log"
    out = None if to_console else open(log_path, "w", encoding="utf-8")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True
    )
    return proc, log_path


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


def start_stack(
    model: Path,
    workdir: Path,
    rasa_port: int = DEFAULT_PORTS["rasa"],
    actions_port: int = DEFAULT_PORTS["actions"],
    token: Optional[str] = None,
    tracker_db: Optional[Path] = None,
    extra_env: Optional[Dict[str, str]] = None,
    to_console: bool = False,
    timeout: float = 120,
) -> Stack:
    """Start the action server and Rasa; return once both answer their health checks."""
    workdir.mkdir(parents=True, exist_ok=True)
    token = token or rasa_token()
    actions_url = f"http://{HOST}:{actions_port}"
    endpoints = write_endpoints(ROOT / "endpoints.yml", workdir / "endpoints.yml", f"{actions_url}/webhook", tracker_db)
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SANIC_HOST=HOST,  # the action server would bind 0.0.0.0 otherwise
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        **(extra_env or {}),
    )
    stack = Stack(rasa_url=f"http://{HOST}:{rasa_port}", actions_url=actions_url, token=token, workdir=workdir)
    commands = {
        "actions": [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
        "rasa": [
            sys.executable, "-m", "rasa", "run", "--model", str(model),
            "--interface", HOST, "--port", str(rasa_port),
            "--enable-api", "--auth-token", token,
            "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml"),
        ],
    }
    try:
        for name, cmd in commands.items():
            stack.processes[name], stack.logs[name] = _spawn(name, cmd, env, workdir, to_console)
        _wait_until_up(stack, "actions", f"{actions_url}/health", timeout)
        _wait_until_up(stack, "rasa", f"{stack.rasa_url}/", timeout)
        # "/" answers before the model is in place; /status (token) names the loaded model.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = requests.get(f"{stack.rasa_url}/status", params={"token": token}, timeout=5)
            if status.ok and status.json().get("model_file"):
                break
            time.sleep(0.3)
    except Exception:
        stack.stop()
        raise
    return stack
