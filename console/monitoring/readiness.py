"""Readiness (/ready): should this console get traffic? /health only says the process answers.

Four checks, run side by side, each with a time limit; any that fails makes the console not
ready, and says why in words an operator can act on:
- store: it answers and takes writes (a read-only database after a failover is caught here);
- rasa: its HTTP API answers our signed token and has a model loaded;
- follower: Rasa's event stream is read, its oldest unread event is younger than
  KEFU_READY_FOLLOWER_LAG_SECONDS, and the follower's latest step did not fail;
- outbox: no delivery has been due longer than KEFU_READY_OUTBOX_SECONDS, and its latest step did
  not fail. Failed (given-up) deliveries are reported, not held against readiness.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict, Optional, Tuple

from assist.integrations.rasa import RasaClient, RasaUnavailable
from assist.settings import Settings
from assist.store import SuggestionStore
from console.monitoring.lag import FollowerLag
from console.monitoring.pulse import WorkerPulse

Check = Dict[str, Any]


def _first_line(error: BaseException) -> str:
    """The database's own words (SQLAlchemy wraps them with the statement and a link)."""
    cause = getattr(error, "orig", None) or error
    return f"{type(cause).__name__}: {cause}".strip().splitlines()[0][:300]


class Readiness:
    def __init__(self, settings: Settings, store: SuggestionStore, pulse: WorkerPulse, lag: Optional[FollowerLag]):
        self.settings, self.store, self.pulse, self.lag = settings, store, pulse, lag
        self.timeout = min(5.0, settings.http_timeout)
        self.rasa = RasaClient(settings.rasa_url, settings.rasa_api_secret(), self.timeout)

    def store_check(self) -> Check:
        try:
            self.store.vitals.check_writable()
        except Exception as error:
            return {"ok": False, "reason": f"store: cannot write: {_first_line(error)}"}
        return {"ok": True}

    def rasa_check(self) -> Check:
        try:
            model = self.rasa.status().get("model_file")
        except RasaUnavailable as error:
            return {"ok": False, "reason": f"rasa: {error}"}
        if not model:
            return {"ok": False, "reason": "rasa: answers, but has no model loaded"}
        return {"ok": True, "model": model}

    def follower_check(self) -> Check:
        if self.lag is None:
            return {"ok": True, "following": False}
        try:
            lag = self.lag.measure()
        except Exception as error:
            return {"ok": False, "reason": f"follower: cannot read Rasa's event stream: {_first_line(error)}"}
        check: Check = {"ok": True, "unread_events": lag["events"], "lag_seconds": round(lag["seconds"], 3)}
        limit = self.settings.ready_follower_lag_seconds
        problem = self.pulse.problem("follower")
        if problem:
            check.update(ok=False, reason=f"follower: {problem}")
        elif lag["seconds"] > limit:
            check.update(ok=False, reason=f"follower: {lag['events']} events unread, the oldest {lag['seconds']:.0f} s old (limit {limit:g} s)")
        return check

    def outbox_check(self) -> Check:
        try:
            outbox = self.store.vitals.outbox()
        except Exception as error:
            return {"ok": False, "reason": f"outbox: cannot read: {_first_line(error)}"}
        check: Check = {"ok": True, **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in outbox.items()}}
        limit = self.settings.ready_outbox_seconds
        problem = self.pulse.problem("outbox")
        if problem:
            check.update(ok=False, reason=f"outbox: {problem}")
        elif outbox["oldest_due_seconds"] > limit:
            check.update(ok=False, reason=f"outbox: {outbox['pending']} pending, the oldest due for "
                                          f"{outbox['oldest_due_seconds']:.0f} s (limit {limit:g} s)")
        return check

    async def check(self) -> Tuple[bool, Dict[str, Check]]:
        checks: Dict[str, Callable[[], Check]] = {
            "store": self.store_check, "rasa": self.rasa_check, "follower": self.follower_check, "outbox": self.outbox_check,
        }
        results = await asyncio.gather(*(self._limited(name, fn) for name, fn in checks.items()))
        found = dict(zip(checks, results))
        return all(c["ok"] for c in found.values()), found

    async def _limited(self, name: str, fn: Callable[[], Check]) -> Check:
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn), timeout=self.timeout + 1)
        except asyncio.TimeoutError:
            return {"ok": False, "reason": f"{name}: no answer within {self.timeout + 1:g} s"}
