"""Several consoles share the following of Rasa's event stream instead of each doing all of it.

The stream's conversations fall into SHARES shares (a hash of the conversation id). Every following
console beats in the store (kefu_follower_members) every BEAT_SECONDS; the members seen within
ALIVE_SECONDS, sorted, deal the shares out round-robin, so each console computes the same split
without asking the others. Each share keeps its own bookmark, so a share that moves — a console
joined, stopped, or died and stopped beating — is followed on from where its last follower left it.

While the members change, two consoles may follow a share for a moment (each until its next beat),
or nobody for up to ALIVE_SECONDS after a console died: handling is idempotent (a message joins a
case once, a holding message goes out once), and a bookmark only moves forward, so the overlap
changes nothing and the gap only delays. One console alone follows every share.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
import zlib
from typing import Callable, FrozenSet, List, Optional

from assist.store.follower import FollowerPositions

SHARES = 16
BEAT_SECONDS = 2.0
ALIVE_SECONDS = 10.0  # a console not seen for this long (killed, frozen, cut off) gives its shares up


def share_of(conversation_id: str) -> int:
    return zlib.crc32(conversation_id.encode("utf-8")) % SHARES


def dealt(members: List[str], holder: str) -> FrozenSet[int]:
    """`holder`'s shares among these members: every member's the same split of all SHARES."""
    ordered = sorted(set(members) | {holder})
    seat = ordered.index(holder)
    return frozenset(share for share in range(SHARES) if share % len(ordered) == seat)


def new_holder() -> str:
    """Unique per process: a restarted console is a new member (the old one ages out)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Membership:
    """This console's place among the following consoles; `mine()` its shares, beating when due."""

    def __init__(self, positions: FollowerPositions, holder: Optional[str] = None, beat_seconds: float = BEAT_SECONDS,
                 alive_seconds: float = ALIVE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.positions = positions
        self.holder = holder or new_holder()
        self.beat_seconds, self.alive_seconds, self.clock = beat_seconds, alive_seconds, clock
        self.members: List[str] = [self.holder]
        self.beaten: Optional[float] = None

    def mine(self) -> FrozenSet[int]:
        """Raises when the store cannot be reached for a due beat (the follower's loop waits it out)."""
        if self.beaten is None or self.clock() - self.beaten >= self.beat_seconds:
            self.members = self.positions.beat(self.holder, self.alive_seconds)
            self.beaten = self.clock()
        return dealt(self.members, self.holder)

    def leave(self) -> None:
        self.positions.leave(self.holder)
