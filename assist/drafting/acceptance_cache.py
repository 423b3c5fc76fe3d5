"""The acceptance record kept fresh in a running server: reloaded from the store every few
minutes, the last good one kept when a reload fails (drafting never fails because the store is
slow or down)."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional

from assist.drafting.acceptance import Acceptance

logger = logging.getLogger(__name__)


class AcceptanceCache:
    """Reloads the acceptance record at most every `refresh_seconds`; a failed reload keeps
    the last good one (drafting never fails because the store is slow or down)."""

    def __init__(self, load: Callable[[], Acceptance], refresh_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self._load = load
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Optional[Acceptance] = None
        self._loaded_at: Optional[float] = None

    def get(self) -> Optional[Acceptance]:
        now = self._clock()
        if self._loaded_at is not None and now - self._loaded_at < self.refresh_seconds:
            return self._current
        if not self._lock.acquire(blocking=self._current is None):
            return self._current  # someone else is reloading: use what we have
        try:
            if self._loaded_at is None or self._clock() - self._loaded_at >= self.refresh_seconds:
                try:
                    self._current = self._load()
                except Exception:
                    logger.exception("could not load the acceptance record; drafting keeps the last one")
                self._loaded_at = self._clock()
        finally:
            self._lock.release()
        return self._current


def acceptance_cache(store_factory: Callable[[], Any], settings: Optional[Any] = None) -> Optional[AcceptanceCache]:
    """The cache a server uses: KEFU_LEARNING=off turns ranking-by-acceptance off,
    KEFU_LEARNING_REFRESH_SECONDS (default 300) sets how often it reloads."""
    if settings is None:
        from assist.settings import get_settings

        settings = get_settings()
    if not settings.learning:
        return None
    return AcceptanceCache(lambda: Acceptance.from_store(store_factory()), settings.learning_refresh_seconds)
