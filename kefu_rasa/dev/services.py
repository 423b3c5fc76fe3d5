"""PostgreSQL and Redis of our own, on free loopback ports, for tests and benchmarks.

The Debian packages (scripts/install_services.sh) give the programs; each run gets its own data
directory and port, so nothing touches a system-wide server. `start_postgres()` / `start_redis()`
return None when the program is not installed (the caller says so: a test skips, a bench stops);
the returned objects can be stopped and started again on the same port and data (a restart fault).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable, List, Optional

from kefu_rasa.dev.servers import HOST, free_port, wait_until

DATABASES = ("tracker", "events", "suggestions", "migrations")


def _pg_bin(name: str) -> Optional[str]:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres(cmd: List[str]) -> List[str]:
    """initdb refuses root; run as the packaged postgres user when we are root."""
    return (["runuser", "-u", "postgres", "--"] + cmd) if os.geteuid() == 0 else cmd


class Postgres:
    """One PostgreSQL cluster in a temporary directory; `url` has no database (append `/tracker` …)."""

    def __init__(self, initdb: str, pg_ctl: str, databases: Iterable[str] = DATABASES, max_connections: int = 200):
        self.pg_ctl = pg_ctl
        # Its own directory: a test's temporary root is private to us, and initdb runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        self.root.chmod(0o777)
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://kefu@{HOST}:{self.port}"
        self.max_connections = max_connections
        subprocess.run(_as_postgres([initdb, "-D", str(self.data), "-U", "kefu", "--auth=trust", "-E", "UTF8"]),
                       check=True, capture_output=True)
        self.start()
        for db in databases:
            subprocess.run(["psql", f"{self.url}/postgres", "-c", f"CREATE DATABASE {db}"], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses={HOST} -c max_connections={self.max_connections}"
        subprocess.run(_as_postgres([self.pg_ctl, "-D", str(self.data), "-o", options, "-w", "-l", str(self.data / "log"), "start"]),
                       check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(_as_postgres([self.pg_ctl, "-D", str(self.data), "-m", mode, "stop"]), capture_output=True)

    def restart(self, down_seconds: float = 0) -> None:
        """Stopped (`immediate`: connections cut, as a crash would) and started again on the same port."""
        self.stop("immediate")
        time.sleep(down_seconds)
        self.start()

    def pids(self) -> List[int]:
        """The postmaster and its backends (for CPU accounting)."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [postmaster] + _children(postmaster)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def as_dict(self) -> dict:
        return {"port": self.port, "url": self.url}


class Redis:
    """One redis-server without persistence (a restart empties it, as a lock store may be)."""

    def __init__(self, server: str):
        self.server = server
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([self.server, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL)
        if not wait_until(self._answers, timeout=10):
            raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def _answers(self) -> bool:
        import socket

        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self, down_seconds: float = 0) -> None:
        self.proc.kill()  # as a crash: no goodbye to the clients
        self.proc.wait(10)
        time.sleep(down_seconds)
        self.start()

    def pids(self) -> List[int]:
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def close(self) -> None:
        self.stop()


def _children(pid: int) -> List[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def start_postgres(databases: Iterable[str] = DATABASES, max_connections: int = 200) -> Optional[Postgres]:
    """A fresh cluster with `databases` made, or None when PostgreSQL is not installed."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        return None
    return Postgres(initdb, pg_ctl, databases, max_connections)


def start_redis() -> Optional[Redis]:
    server = shutil.which("redis-server")
    return Redis(server) if server else None
