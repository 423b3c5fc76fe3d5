"""The event follower's bookmarks (the last Rasa event handled, one per share of the stream's
conversations) and the consoles that follow it (console/workers/shares.py shares the stream out)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .schema import follower_members, follower_state

FORGET_AFTER = timedelta(days=1)  # a member not seen for this long is removed (a console that was stopped)


class FollowerPositions:
    def __init__(self, engine: Engine):
        self.engine = engine

    def position(self, name: str) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(follower_state.c.last_event_id).where(follower_state.c.name == name)).scalar() or 0

    def set_position(self, name: str, event_id: int) -> None:
        with self.engine.begin() as db:
            updated = db.execute(follower_state.update().where(follower_state.c.name == name).values(last_event_id=event_id))
            if updated.rowcount == 0:
                db.execute(follower_state.insert().values(name=name, last_event_id=event_id))

    def positions(self, names: Iterable[str], start: int) -> Dict[str, int]:
        """The bookmarks of these names; one never kept starts at `start` (and is kept from now on)."""
        names = list(names)
        try:
            return self._positions(names, start)
        except IntegrityError:
            return self._positions(names, start)  # another console kept them a moment ago: read theirs

    def _positions(self, names: List[str], start: int) -> Dict[str, int]:
        with self.engine.begin() as db:
            found = {row.name: row.last_event_id for row in db.execute(
                sa.select(follower_state.c.name, follower_state.c.last_event_id).where(follower_state.c.name.in_(names)))}
            missing = [name for name in names if name not in found]
            if missing:
                db.execute(follower_state.insert(), [{"name": name, "last_event_id": start} for name in missing])
        return {**found, **{name: start for name in missing}}

    def move_forward(self, moved: Dict[str, int]) -> None:
        """Move these bookmarks forward in one statement; never back (two consoles may briefly both
        follow a share while the members change: the one behind does not undo the other's progress)."""
        if not moved:
            return
        column = follower_state.c.last_event_id
        target = sa.case(*[(follower_state.c.name == name, position) for name, position in moved.items()], else_=column)
        with self.engine.begin() as db:
            db.execute(follower_state.update().where(follower_state.c.name.in_(list(moved)), column < target)
                       .values(last_event_id=target))

    def lowest(self, prefix: str) -> int:
        """The lowest bookmark among `<prefix>/…` (the stream's shares): everything up to it is handled."""
        with self.engine.connect() as db:
            found = db.execute(sa.select(sa.func.min(follower_state.c.last_event_id))
                               .where(follower_state.c.name.like(f"{prefix}/%"))).scalar()
        return found if found is not None else self.position(prefix)

    # ---- the consoles that follow ----------------------------------------------------------
    def beat(self, holder: str, alive_seconds: float, at: Optional[datetime] = None) -> List[str]:
        """Note that `holder` follows, now; the members seen within `alive_seconds`, itself included."""
        at = at or datetime.now(timezone.utc)  # to the microsecond (the store's now() is to the second)
        with self.engine.begin() as db:
            if db.execute(follower_members.update().where(follower_members.c.holder == holder).values(seen_at=at)).rowcount == 0:
                db.execute(follower_members.insert().values(holder=holder, seen_at=at))
            db.execute(follower_members.delete().where(follower_members.c.seen_at < at - FORGET_AFTER))
            alive = db.execute(sa.select(follower_members.c.holder)
                               .where(follower_members.c.seen_at >= at - timedelta(seconds=alive_seconds))).scalars().all()
        return sorted(set(alive) | {holder})

    def leave(self, holder: str) -> None:
        """A console stopping: the others take its shares at their next beat."""
        with self.engine.begin() as db:
            db.execute(follower_members.delete().where(follower_members.c.holder == holder))
