"""The faults of the scale-out proof, one per load run (kefu_rasa/dev/scale.py `run_load(fault=…)`):
kill -9 of one action server, one Rasa server, one console (each restarted), a Redis restart and a
PostgreSQL restart. Each is a function of the cluster and its fault window (notes go there).

The processes run in their own process groups (kefu_rasa/dev/supervisor.py): SIGKILL goes to the
group, as kefu_rasa/dev/fault_harness.py does.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Callable, Dict

from kefu_rasa.dev.scale_cluster import Cluster

DOWN_SECONDS = 8.0  # how long a killed process stays dead while the load goes on


def kill(cluster: Cluster, instance: int, name: str) -> None:
    proc = cluster.instances[instance].processes[name]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def _killed_and_restarted(name: str, instance: int = -1) -> Callable:
    def fault(cluster: Cluster, window) -> None:
        stack = cluster.instances[instance]
        kill(cluster, instance, name)
        time.sleep(DOWN_SECONDS)
        started = time.monotonic()
        stack.start(name, timeout=300)
        window.notes.append(f"{name} of instance {len(cluster.instances) if instance == -1 else instance + 1} "
                            f"killed, restarted after {DOWN_SECONDS:.0f} s, up again in {time.monotonic() - started:.0f} s")

    fault.__name__ = f"{name} killed"
    return fault


def redis_restarted(cluster: Cluster, window) -> None:
    """Redis killed and started again empty (no persistence): the lock store's tickets are gone."""
    cluster.redis.restart(down_seconds=3)
    window.notes.append("redis killed, started again empty after 3 s")


def postgres_restarted(cluster: Cluster, window) -> None:
    """PostgreSQL stopped at once (connections cut) and started again after 5 s: tracker store,
    event broker and suggestion store down together."""
    window.notes.append("postgres stopped (immediate)")
    cluster.postgres.restart(down_seconds=5)
    window.notes.append("postgres started again after 5 s")


FAULTS: Dict[str, Callable] = {
    "action server killed": _killed_and_restarted("actions"),
    "rasa server killed": _killed_and_restarted("rasa"),
    "console killed": _killed_and_restarted("console", instance=0),  # its shares of Rasa's events move to the other
    "redis restarted": redis_restarted,
    "postgres restarted": postgres_restarted,
}
