"""`make run` as an operator runs it: a killed child comes back, a second `make run` is refused
naming the processes that hold its ports, killing the launcher leaves no orphan, a child that keeps
dying stops everything with a non-zero exit — and Rasa's JWT secret is on no command line and in no
log line, and the data it keeps is readable by its user only."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from kefu_rasa.dev.ports import holders
from kefu_rasa.dev.servers import free_port, wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, only not yet reaped
    except OSError:
        return False


class MakeRun:
    """`make run` on free ports with its own data dir; the terminal goes to a file."""

    def __init__(self, tmp_path: Path, **extra: str):
        self.ports = {"rasa": free_port(), "actions": free_port(), "console": free_port()}
        self.data = tmp_path / "data"
        self.env = {
            **os.environ, "KEFU_DATA_DIR": str(self.data),
            "KEFU_RASA_PORT": str(self.ports["rasa"]), "KEFU_ACTIONS_PORT": str(self.ports["actions"]),
            "KEFU_CONSOLE_PORT": str(self.ports["console"]), "KEFU_RESTART_MAX_DELAY_SECONDS": "1",
            # Rasa's and the action server's Sanic access logs on: no secret may reach them either.
            "LOG_LEVEL_LIBRARIES": "INFO", **extra,
        }
        self.terminal = tmp_path / "terminal.log"
        self.out = open(self.terminal, "w", encoding="utf-8")
        self.make = subprocess.Popen(["make", "run"], cwd=ROOT, env=self.env, stdout=self.out, stderr=subprocess.STDOUT)
        self.seen = set()

    def text(self) -> str:
        return self.terminal.read_text(encoding="utf-8", errors="replace")

    def pids(self) -> dict:
        found = {name: (holders(port) or [None])[0] for name, port in self.ports.items()}
        self.seen.update(p for p in found.values() if p)
        return found

    def launcher(self) -> int:
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == self.make.pid:
                    return int(entry.name)
            except (OSError, IndexError, ValueError):
                continue
        raise AssertionError("make run has no launcher process")

    def ready(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.ports['console']}/ready", timeout=10).json().get("ready") is True
        except (requests.RequestException, ValueError):
            return False

    def wait_ready(self, timeout: float = 300) -> dict:
        # Ready, and supervised: the console can answer /ready a moment before the launcher has
        # checked Rasa's model and begun to supervise (a child killed before that fails the start).
        up = lambda: all(f"{name} is up (pid" in self.text() for name in self.ports)  # noqa: E731
        assert wait_until(lambda: self.make.poll() is None and self.ready() and up(), timeout=timeout, interval=0.5), \
            self.text()[-3000:]
        return self.pids()

    def close(self) -> None:
        """Whatever a failed test left: the processes this run started, by their ids."""
        for pid in [self.make.pid, *self.seen]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.make.wait(30)
        self.out.close()


def test_a_killed_child_comes_back_a_busy_port_is_named_and_the_launcher_leaves_no_orphan(tmp_path):
    run = MakeRun(tmp_path)
    try:
        first = run.wait_ready()
        assert all(first.values()), first

        # A second `make run` finds the ports taken and names who holds them.
        second = subprocess.run(["make", "run"], cwd=ROOT, env={**run.env, "KEFU_DATA_DIR": str(tmp_path / "second")},
                                capture_output=True, text=True, timeout=600)
        assert second.returncode != 0
        for name, port in run.ports.items():
            assert f"could not start: {name}: port {port} is in use by pid {first[name]} (" in second.stderr, second.stderr[-2000:]
        # make run generated Rasa's JWT secret (0600) and handed it to Rasa inside the process: no
        # command line carries it, nor any other secret.
        secret_file = run.data / "rasa_jwt_secret"
        secret = secret_file.read_text().strip()
        assert len(secret) >= 32 and secret_file.stat().st_mode & 0o777 == 0o600
        assert "kefu_rasa.rasa_server" in second.stderr and secret not in second.stderr + second.stdout
        for pid in first.values():
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
            assert secret not in command and "--auth-token" not in command and "--jwt-secret" not in command, command
        # Everything kept in the data dir (stores with customers' words, the secret, the logs) is this user's only.
        assert run.data.stat().st_mode & 0o777 == 0o700
        loose = [f"{p} {p.stat().st_mode & 0o777:o}" for p in run.data.rglob("*") if p.stat().st_mode & 0o077]
        assert loose == []

        # Rasa killed: restarted with backoff, back with its model, the console ready again.
        os.kill(first["rasa"], signal.SIGKILL)
        assert wait_until(lambda: run.pids()["rasa"] not in (None, first["rasa"]) and run.ready(), timeout=240, interval=0.5)
        assert f"rasa (pid {first['rasa']}) was killed by SIGKILL; restarting in 1 s" in run.text()
        assert run.make.poll() is None and run.pids()["console"] == first["console"]

        # Logs: every process has its file; the secret is in none of them, nor on the terminal, and
        # Rasa's access log shows the calls made with it without any token in their URLs.
        logs = run.data / "logs"
        assert sorted(p.name for p in logs.iterdir()) == ["actions.log", "console.log", "launcher.log", "rasa.log"]
        everything = run.text() + "".join(p.read_text(encoding="utf-8") for p in logs.iterdir())
        assert secret not in everything and "token=" not in everything
        assert f"127.0.0.1:{run.ports['rasa']}/status" in everything  # the calls are there, signed in a header
        assert "restarting in 1 s" in (logs / "launcher.log").read_text(encoding="utf-8")

        # The launcher killed outright: its children follow it, the ports come free.
        children = run.pids()
        os.kill(run.launcher(), signal.SIGKILL)
        assert wait_until(lambda: not any(alive(p) for p in children.values()), timeout=90, interval=0.5), children
        assert all(not holders(port) for port in run.ports.values())
        assert run.make.wait(30) != 0
    finally:
        run.close()


def _readiness(run: MakeRun) -> str:
    try:
        return requests.get(f"http://127.0.0.1:{run.ports['console']}/ready", timeout=10).text
    except requests.RequestException as error:
        return repr(error)


def test_a_child_that_keeps_dying_stops_everything_and_make_run_fails(tmp_path):
    run = MakeRun(tmp_path, KEFU_RESTART_LIMIT="1")
    try:
        first = run.wait_ready()
        os.kill(first["console"], signal.SIGKILL)
        assert wait_until(lambda: run.pids()["console"] not in (None, first["console"]) and run.ready(), timeout=120,
                          interval=0.5), (run.pids(), _readiness(run), run.text()[-3000:])
        os.kill(run.pids()["console"], signal.SIGKILL)  # dead again after its one restart: give up
        assert run.make.wait(120) != 0
        text = run.text()
        assert "it died 2 times within 300 s" in text and "giving up: stopping everything" in text
        assert "Error 1" in text  # make reports the launcher's status 1
        assert not any(alive(p) for p in first.values())
    finally:
        run.close()
