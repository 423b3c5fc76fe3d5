"""The production shape on loopback for the scale-out proof (tests/scale/, bench/scale.py).

`start_cluster` starts N instances — each a Rasa server, an action server and a console — on one set
of stores: SQLite files (one instance, the embedded default) or PostgreSQL + Redis (kefu_rasa/dev/
services.py). Every Rasa server has the callback channel pointed at one local inbox (the customers'
client). `route()` is the one place that decides which Rasa server a conversation talks to.
"""
from __future__ import annotations

import uuid
import zlib
from bisect import bisect
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from kefu_rasa.dev.callback_inbox import CallbackInbox
from kefu_rasa.dev.servers import ROOT, Stack, free_port, start_stack
from kefu_rasa.dev.services import Postgres, Redis

# Short timeouts as in the fault matrix (kefu_rasa/dev/faults.py), so a dead process costs seconds.
SCALE_ENV = {
    "KEFU_HTTP_TIMEOUT": "3",
    "KEFU_ACTION_TIMEOUT_SECONDS": "5",
    "KEFU_HANDOFF_DEADLINE_SECONDS": "2.5",
    "KEFU_CALLBACK_TIMEOUT_SECONDS": "3",
    "KEFU_RETRY_MAX_SECONDS": "2",
    "KEFU_WORKER_BACKOFF_MAX_SECONDS": "1",
    "KEFU_WAIT_UPDATE_SECONDS": "3600",
    # Several instances share one PostgreSQL: small pools (Rasa's SQL tracker store reads these).
    "SQL_POOL_SIZE": "10",
    "SQL_MAX_OVERFLOW": "10",
}
POINTS_PER_SERVER = 160  # as nginx's `hash … consistent` (ketama): 160 points on the ring per server


def route(conversation_id: str, servers: List[str]) -> List[str]:
    """The servers in the order a conversation tries them: its own first (a consistent hash of the
    conversation id, the rule of the production proxy), then the next ones on the ring (the proxy's
    `proxy_next_upstream` when the first is down). Adding a server moves only ~1/N of conversations."""
    if len(servers) <= 1:
        return list(servers)
    ring = _ring(tuple(servers))
    points = [p for p, _ in ring]
    start = bisect(points, zlib.crc32(conversation_id.encode("utf-8")))
    order: List[str] = []
    for i in range(len(ring)):
        server = ring[(start + i) % len(ring)][1]
        if server not in order:
            order.append(server)
            if len(order) == len(servers):
                break
    return order


_RINGS: Dict[tuple, list] = {}


def _ring(servers: tuple) -> list:
    if servers not in _RINGS:
        _RINGS[servers] = sorted((zlib.crc32(f"{server}-{i}".encode()), server)
                                 for server in servers for i in range(POINTS_PER_SERVER))
    return _RINGS[servers]


@dataclass
class Cluster:
    """The running instances and the stores they share."""

    instances: List[Stack]
    inbox: CallbackInbox
    backend: str                         # sqlite | postgres
    store_url: str
    postgres: Optional[Postgres] = None
    redis: Optional[Redis] = None
    tokens: Dict[str, str] = field(default_factory=dict)  # agent name → bearer token

    @property
    def rasa_urls(self) -> List[str]:
        return [stack.rasa_url for stack in self.instances]

    @property
    def console_urls(self) -> List[str]:
        return [stack.console_url for stack in self.instances if stack.console_url]

    def instance_of(self, rasa_url: str) -> Stack:
        return next(stack for stack in self.instances if stack.rasa_url == rasa_url)

    def pids(self) -> Dict[str, List[int]]:
        """Process ids by role, for CPU accounting (role: rasa-1, actions-2, console-1, postgres, redis)."""
        found: Dict[str, List[int]] = {}
        for number, stack in enumerate(self.instances, 1):
            for name, proc in stack.processes.items():
                if proc.poll() is None:
                    found[f"{name}-{number}"] = [proc.pid]
        if self.postgres:
            found["postgres"] = self.postgres.pids()
        if self.redis:
            found["redis"] = self.redis.pids()
        return found

    def stop(self) -> None:
        with ThreadPoolExecutor(max(1, len(self.instances))) as pool:
            list(pool.map(lambda stack: stack.stop(timeout=3), self.instances))


def _postgres_endpoints(postgres: Postgres, redis: Redis, target: Path) -> Path:
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    pg = {"dialect": "postgresql", "url": "127.0.0.1", "port": postgres.port, "username": "kefu", "password": "", "db": "tracker"}
    endpoints["tracker_store"] = {"type": "SQL", **pg}
    endpoints["event_broker"] = {"type": "SQL", **dict(pg, db="events")}  # its own database: both tables are `events`
    endpoints["lock_store"] = {"type": "redis", "url": "127.0.0.1", "port": redis.port, "db": 0}
    target.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    return target


def start_cluster(model: Path, workdir: Path, instances: int, inbox: CallbackInbox, *,
                  postgres: Optional[Postgres] = None, redis: Optional[Redis] = None,
                  extra_env: Optional[Dict[str, str]] = None) -> Cluster:
    """`instances` × (Rasa, action server, console). With `postgres` and `redis`: the production stores;
    without: the embedded SQLite files (one instance only — SQLite is one machine's store).
    Every console follows Rasa's event stream, each its share of the conversations (README "Production")."""
    if instances > 1 and not postgres:
        raise ValueError("several instances need PostgreSQL and Redis: SQLite and the in-memory lock store are one process's")
    workdir.mkdir(parents=True, exist_ok=True)
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    credentials["kefu_rasa.channels.CallbackInput"] = {"url": inbox.url}
    (workdir / "credentials.yml").write_text(yaml.safe_dump(credentials), encoding="utf-8")
    env = dict(SCALE_ENV, **(extra_env or {}))
    endpoints = None
    if postgres:
        endpoints = _postgres_endpoints(postgres, redis, workdir / "endpoints.source.yml")
        env.update(KEFU_STORE_URL=f"{postgres.url}/suggestions", KEFU_EVENTS_URL=f"{postgres.url}/events",
                   KEFU_TRACKER_URL=f"{postgres.url}/tracker", KEFU_ORDERS=f"sqlite:///{workdir / 'orders.db'}")
    secret = uuid.uuid4().hex

    def start(number: int) -> Stack:
        return start_stack(model, workdir / f"instance-{number}", data_dir=workdir / "data", endpoints_source=endpoints,
                           credentials=workdir / "credentials.yml", rasa_port=free_port(), actions_port=free_port(),
                           console_port=free_port(), secret=secret, timeout=300,
                           extra_env=dict(env, KEFU_FOLLOW_EVENTS="on"))

    # The first instance migrates the store alone; the others start side by side after it.
    first = start(1)
    stacks = [first]
    try:
        with ThreadPoolExecutor(max(1, instances - 1)) as pool:
            stacks += list(pool.map(start, range(2, instances + 1)))
    except BaseException:
        first.stop(timeout=3)
        raise
    return Cluster(stacks, inbox, "postgres" if postgres else "sqlite", first.store_url, postgres, redis)
