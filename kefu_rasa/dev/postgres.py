"""A PostgreSQL server of our own on a free loopback port, for tests (scripts/install_services.sh
installs PostgreSQL from Debian): made with initdb, stopped and started again on the same port and
data (an outage a test can cause), removed at the end. tests/conftest.py's `postgres` fixture is one
of these, shared by the session; a test that takes its database down starts its own."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Optional

from kefu_rasa.dev.servers import free_port


def pg_bin(name: str) -> Optional[str]:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def installed() -> bool:
    return bool(pg_bin("initdb") and pg_bin("pg_ctl") and shutil.which("psql"))


def _as_postgres(cmd):
    """initdb refuses root; run as the packaged postgres user when we are root."""
    return (["runuser", "-u", "postgres", "--"] + cmd) if os.geteuid() == 0 else cmd


class LocalPostgres:
    """Trust authentication for the user `kefu` on 127.0.0.1 only; `url` is the server's, without a database."""

    def __init__(self, databases: Iterable[str] = ()):
        # Its own directory: pytest's temporary root is private to us, and initdb runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        self.root.chmod(0o777)
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://kefu@127.0.0.1:{self.port}"
        subprocess.run(_as_postgres([pg_bin("initdb"), "-D", str(self.data), "-U", "kefu", "--auth=trust", "-E", "UTF8"]),
                       check=True, capture_output=True)
        self.start()
        for name in databases:
            subprocess.run(["psql", f"{self.url}/postgres", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l", str(self.data / "log"),
                                     "start"]), check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        """Shut down (`fast`: open connections are ended; `immediate`: as a crash)."""
        subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]), capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
