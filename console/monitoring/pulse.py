"""Each background worker's pulse: when its step last succeeded, since when it has been failing
and with what, and how many steps failed (readiness and metrics read it)."""
from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Callable, Dict, Optional, Tuple


class WorkerPulse:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.last_ok: Dict[str, float] = {}
        self.failing: Dict[str, Tuple[float, str]] = {}  # worker → (failing since, latest error)
        self.failures: Counter = Counter()
        self._lock = threading.Lock()

    def ok(self, worker: str) -> None:
        with self._lock:
            self.last_ok[worker] = self.clock()
            self.failing.pop(worker, None)

    def failed(self, worker: str, error: BaseException) -> None:
        text = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        with self._lock:
            since = self.failing.get(worker, (self.clock(), ""))[0]
            self.failing[worker] = (since, text)
            self.failures[worker] += 1

    def problem(self, worker: str) -> Optional[str]:
        """'failing for 12 s: OperationalError: …' while the worker's latest step failed."""
        with self._lock:
            found = self.failing.get(worker)
        if found is None:
            return None
        return f"failing for {self.clock() - found[0]:.0f} s: {found[1]}"
