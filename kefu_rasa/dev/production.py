"""The production shape on one machine, for tests: Rasa servers sharing PostgreSQL (tracker store,
event broker, suggestion store) and Redis (lock store, socket.io rooms), and nginx in front of
them running the shipped deploy/nginx/kefu.conf with this run's addresses."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from kefu_rasa.dev.servers import HOST, ROOT

NGINX_CONF = ROOT / "deploy" / "nginx" / "kefu.conf"


def production_endpoints(postgres: Dict, redis_port: int, target: Path) -> Path:
    """endpoints.yml with PostgreSQL's tracker store and event broker, and Redis's lock store."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    pg = {"dialect": "postgresql", "url": HOST, "port": postgres["port"], "username": "kefu", "password": "", "db": "tracker"}
    endpoints["tracker_store"] = {"type": "SQL", **pg}
    # Rasa's tracker store and SQL event broker both name their table `events`: separate databases.
    endpoints["event_broker"] = {"type": "SQL", **dict(pg, db="events")}
    endpoints["lock_store"] = {"type": "redis", "url": HOST, "port": redis_port, "db": 0}
    target.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    return target


def production_env(postgres: Dict, data_dir: Path, redis_port: Optional[int] = None) -> Dict[str, str]:
    """The kefu settings every process of the shape shares (the suggestion store, the followed events,
    and with `redis_port`, socket.io rooms shared through Redis)."""
    env = {
        "KEFU_STORE_URL": f"{postgres['url']}/suggestions",
        "KEFU_EVENTS_URL": f"{postgres['url']}/events",
        "KEFU_ORDERS": f"sqlite:///{data_dir / 'orders.db'}",
    }
    if redis_port:
        env["KEFU_SOCKETIO_REDIS_URL"] = f"redis://{HOST}:{redis_port}/1"
    return env



def profile_env(postgres: Dict, redis_port: int, data_dir: Path, redis_db: int = 3, **databases: str) -> Dict[str, str]:
    """KEFU_PROFILE=production as an operator sets it: the two services and the secret (the stores
    follow from KEFU_POSTGRES_URL; `databases`, e.g. store="x_suggestions", names others)."""
    env = {
        "KEFU_PROFILE": "production", "KEFU_POSTGRES_URL": postgres["url"],
        "KEFU_REDIS_URL": f"redis://{HOST}:{redis_port}/{redis_db}", "KEFU_RASA_JWT_SECRET": uuid.uuid4().hex * 2,
        "KEFU_ORDERS": f"sqlite:///{data_dir / 'orders.db'}",
    }
    env.update({f"KEFU_{kind.upper()}_URL": f"{postgres['url']}/{name}" for kind, name in databases.items()})
    return env


# ---- nginx --------------------------------------------------------------------------------------
def nginx_binary() -> Optional[str]:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if os.access(found, os.X_OK) else None


def _upstream(text: str, name: str, servers: List[str]) -> str:
    block = re.compile(r"(upstream %s \{\n)(.*?)(\n\})" % re.escape(name), re.S)
    match = block.search(text)
    if not match:
        raise ValueError(f"{NGINX_CONF}: no `upstream {name}` block")
    kept = [line for line in match.group(2).splitlines() if not line.strip().startswith("server ")]
    body = "\n".join(kept + [f"    server {server};" for server in servers])
    return text[:match.start()] + match.group(1) + body + match.group(3) + text[match.end():]


def render_nginx(source: str, rasa: List[str], console: str, public_port: int, api_port: int, log_dir: Path) -> str:
    """The shipped config with this run's addresses: only the upstream servers, the two `listen`
    lines and the log directory change; everything else is tested as shipped."""
    text = _upstream(_upstream(source, "kefu_rasa", rasa), "kefu_console", [console])
    listens = re.findall(r"^\s*listen [^;]+;", text, re.M)
    if len(listens) != 2:
        raise ValueError(f"{NGINX_CONF}: expected two listen lines (public, Rasa's API), found {len(listens)}")
    for line, port in zip(listens, (public_port, api_port)):
        text = text.replace(line, f"    listen {HOST}:{port};", 1)
    return text.replace("/var/log/nginx/", f"{log_dir}/")


class Nginx:
    """One nginx of our own: prefix, config, pid and logs in `root`, in the foreground
    (`daemon off`), on free loopback ports; it needs no root."""

    def __init__(self, binary: str, root: Path, public_port: int, api_port: int):
        self.binary, self.root, self.public_port, self.api_port = binary, root, public_port, api_port
        self.public_url, self.api_url = f"http://{HOST}:{public_port}", f"http://{HOST}:{api_port}"
        self.process: Optional[subprocess.Popen] = None

    def start(self, site: str, timeout: float = 20) -> "Nginx":
        for sub in ("logs", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # Started as root, nginx's workers run as `nobody`: they must reach the temp directories.
        self.root.chmod(0o755)
        (self.root / "kefu.conf").write_text(site, encoding="utf-8")
        temp = " ".join(f"{kind}_temp_path {self.root}/tmp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (self.root / "nginx.conf").write_text(
            f"worker_processes 1;\npid {self.root}/nginx.pid;\nerror_log {self.root}/logs/error.log info;\n"
            f"events {{ worker_connections 512; }}\n"
            f"http {{\n    {temp}\n    access_log {self.root}/logs/access.log;\n    include {self.root}/kefu.conf;\n}}\n",
            encoding="utf-8",
        )
        command = [self.binary, "-p", str(self.root), "-e", str(self.root / "logs" / "error.log"),
                   "-c", str(self.root / "nginx.conf"), "-g", "daemon off;"]
        checked = subprocess.run(command + ["-t"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx refused the config:\n{checked.stderr}")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.error_log()}")
            try:
                # A connection, not a request: a request would reach a Rasa still starting, and nginx
                # would count it as down for fail_timeout (then only one request at a time probes it).
                for port in (self.public_port, self.api_port):
                    socket.create_connection((HOST, port), timeout=2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"nginx did not answer within {timeout:.0f} s:\n{self.error_log()}")

    def access_log(self, name: str) -> List[Dict[str, str]]:
        """The lines of one of the shipped access logs (format `kefu`), as dicts of their key=value fields."""
        path = self.root / "logs" / name
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [dict(re.findall(r"(\w+)=(\S+)", line)) for line in lines]

    def error_log(self) -> str:
        path = self.root / "logs" / "error.log"
        return path.read_text(encoding="utf-8", errors="replace")[-3000:] if path.exists() else ""

    def stop(self, timeout: float = 10) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: workers finish, the master exits
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
