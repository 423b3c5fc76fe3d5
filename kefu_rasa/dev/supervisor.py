"""Keeps `make run`'s processes running: a child that dies is restarted with backoff, one that
keeps dying stops everything with a non-zero exit, and no child outlives the launcher.

- Restarts after 1 s, 2 s, 4 s … (KEFU_RESTART_MAX_DELAY_SECONDS at most). A child that dies
  again after KEFU_RESTART_LIMIT restarts within KEFU_RESTART_WINDOW_SECONDS makes the launcher
  give up: it stops the others and exits 1, so a service manager's on-failure policy fires.
- A restarted child counts as up only once its health check answers; one that does not within
  its start timeout is killed and counts as a death.
- Children die with the launcher: each is its own process group (Ctrl-C reaches the launcher,
  which stops them in order) and asks the kernel for SIGTERM when the launcher dies, even by
  SIGKILL (Linux PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Deque, Dict, List, Optional

from assist.logs import EVERY_TIME
from kefu_rasa.dev.ports import who_holds

logger = logging.getLogger("kefu.launcher")
PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> Callable[[], None]:
    """A preexec_fn: the child gets SIGTERM when `parent` dies (and at once if it already has)."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork

    def ask_the_kernel() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return ask_the_kernel


def spawn_process(cmd: List[str], env: Dict[str, str], cwd: Path, out: Optional[IO] = None,
                  die_with_parent: bool = False) -> subprocess.Popen:
    """Start `cmd` in a process group of its own; output to `out` (None: this terminal)."""
    return subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True,
        preexec_fn=die_with(os.getpid()) if die_with_parent else None,
    )


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM to the child's process group, SIGKILL after `timeout` s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with {code}"


@dataclass
class RestartPolicy:
    limit: int = 5
    window: float = 300.0
    max_delay: float = 30.0

    def delay(self, deaths: Deque[float], now: float) -> Optional[float]:
        """How long to wait before restarting after a death at `now` (recorded in `deaths`), or
        None: it died again after `limit` restarts within the window — give up."""
        while deaths and now - deaths[0] > self.window:
            deaths.popleft()
        earlier = len(deaths)
        deaths.append(now)
        if earlier >= self.limit:
            return None
        return min(self.max_delay, 2.0 ** earlier)


@dataclass
class Child:
    """One supervised process: how to start it, how to tell it is up, the port it must find free."""

    name: str
    spawn: Callable[[], subprocess.Popen]
    answers: Callable[[], bool]
    port: Optional[int] = None
    start_timeout: float = 120.0
    proc: Optional[subprocess.Popen] = None
    state: str = "up"  # starting | up | waiting
    since: float = 0.0
    restart_at: float = 0.0
    deaths: Deque[float] = field(default_factory=deque)


class Supervisor:
    def __init__(self, children: List[Child], policy: RestartPolicy, clock: Callable[[], float] = time.monotonic,
                 on_up: Optional[Callable[[Child], None]] = None):
        self.children = children
        self.policy = policy
        self.clock = clock
        self.on_up = on_up
        self.stopping = False

    def run(self, interval: float = 0.25) -> int:
        """Watch the (running) children until stop() or a give-up; return the exit status."""
        try:
            while not self.stopping:
                for child in self.children:
                    if not self.step(child):
                        logger.error("giving up: stopping everything", extra=EVERY_TIME)
                        return 1
                time.sleep(interval)
            return 0
        finally:
            self.stop_all()

    def stop(self, *_args) -> None:
        self.stopping = True

    def stop_all(self) -> None:
        for child in reversed(self.children):
            if child.proc is not None:
                stop_process(child.proc)

    def step(self, child: Child) -> bool:
        """One look at `child`; False when it must be given up."""
        now = self.clock()
        if child.state in ("starting", "up") and child.proc is not None and child.proc.poll() is not None:
            return self.died(child, f"{child.name} (pid {child.proc.pid}) {exit_reason(child.proc.returncode)}")
        if child.state == "starting":
            if child.answers():
                child.state = "up"
                logger.info("%s is up again (pid %s)", child.name, child.proc.pid)
                if self.on_up:
                    self.on_up(child)
            elif now - child.since > child.start_timeout:
                stop_process(child.proc)
                return self.died(child, f"{child.name} did not come up within {child.start_timeout:.0f} s")
        elif child.state == "waiting" and now >= child.restart_at:
            holder = who_holds(child.port) if child.port else None
            if holder:
                return self.died(child, f"{child.name} cannot restart: {holder}")
            child.proc, child.state, child.since = child.spawn(), "starting", now
            logger.info("%s restarted (pid %s)", child.name, child.proc.pid)
        return True

    def died(self, child: Child, why: str) -> bool:
        delay = self.policy.delay(child.deaths, self.clock())
        if delay is None:
            logger.error("%s; it died %s times within %.0f s", why, len(child.deaths), self.policy.window, extra=EVERY_TIME)
            return False
        logger.warning("%s; restarting in %.0f s", why, delay, extra=EVERY_TIME)
        child.state, child.restart_at = "waiting", self.clock() + delay
        return True
