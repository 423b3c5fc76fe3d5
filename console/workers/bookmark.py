"""The follower's bookmark: the last event id before anything unhandled, held before a gap in the
ids (an insert another Rasa server has not committed yet) until it fills or GAP_SECONDS pass
(console/workers/follower.py explains why)."""
from __future__ import annotations

import logging
from typing import Dict, Iterable, List, Optional, Set

logger = logging.getLogger("console.workers.follower")
GAP_SECONDS = 30.0  # a gap in the ids may be an open insert this long (a publish takes ms); then: rolled back


class Progress:
    """The bookmark (stored) and what was handled beyond it (in memory: after a restart those
    events are handled again, which changes nothing)."""

    def __init__(self, position: int, gap_seconds: float = GAP_SECONDS):
        self.position = position
        self.done: Set[int] = set()
        self.gap_seconds = gap_seconds
        # When each id beyond the bookmark was first read: the ids missing below it have been missing
        # since then (had they been visible, the read, in id order, would have returned them too).
        self.first_read: Dict[int, float] = {}
        self.read_at = 0.0  # when the last read began: what it did not return was missing then

    def saw(self, ids: Iterable[int], read_at: float) -> None:
        self.read_at = read_at
        for event_id in ids:
            self.first_read.setdefault(event_id, read_at)

    def advance(self, ids_in_order: Iterable[int]) -> bool:
        """Move the bookmark over the handled events; stop at the first one that is not, and
        before a gap in the ids until it is filled or `gap_seconds` have passed."""
        moved = False
        for event_id in ids_in_order:
            if event_id <= self.position:
                continue
            if event_id not in self.done or (event_id > self.position + 1 and not self._gap_passed(event_id)):
                break
            self.done.discard(event_id)
            self.position, moved = event_id, True
        if moved:
            self.first_read = {event_id: at for event_id, at in self.first_read.items() if event_id > self.position}
        return moved

    def _gap_passed(self, next_id: int) -> bool:
        """Ids between the bookmark and `next_id` were never read: not committed yet, or never to be.
        Measured between reads (not to the clock now: handling a long batch must not age a gap)."""
        if self.read_at - self.first_read.get(next_id, self.read_at) < self.gap_seconds:
            return False
        logger.info("event ids %d-%d never appeared within %g s (an insert rolled back, or erased): passed",
                    self.position + 1, next_id - 1, self.gap_seconds)
        return True


class ShareBookmarks:
    """One `Progress` per share this console follows (console/workers/shares.py). The stream is read
    once, from the lowest of them; an event of another share (or of a share not followed) is stepped
    over by every bookmark, so each one moves over everything except its own share's unhandled
    events and the gaps in the ids."""

    def __init__(self, gap_seconds: float = GAP_SECONDS):
        self.gap_seconds = gap_seconds
        self.shares: Dict[int, Progress] = {}

    def follow(self, positions: Dict[int, int]) -> None:
        """Follow exactly these shares; a new one starts at its stored position."""
        for share in set(self.shares) - set(positions):
            del self.shares[share]
        for share, position in positions.items():
            self.shares.setdefault(share, Progress(position, self.gap_seconds))

    @property
    def position(self) -> int:
        return min((p.position for p in self.shares.values()), default=0)

    def handled_beyond(self) -> int:
        """How many events past the read position are known handled (they are read again and skipped)."""
        return max((len(p.done) for p in self.shares.values()), default=0)

    def saw(self, ids: List[int], read_at: float) -> None:
        for progress in self.shares.values():
            progress.saw(ids, read_at)

    def is_done(self, share: int, event_id: int) -> bool:
        progress = self.shares[share]
        return event_id <= progress.position or event_id in progress.done

    def step_over(self, event_id: int, but: Optional[int] = None) -> None:
        """The event is handled (or not this share's business) for every share but `but`."""
        for share, progress in self.shares.items():
            if share != but and event_id > progress.position:
                progress.done.add(event_id)

    def advance(self, ids_in_order: List[int]) -> Dict[int, int]:
        """The shares whose bookmark moved, and where to."""
        return {share: p.position for share, p in self.shares.items() if p.advance(ids_in_order)}
