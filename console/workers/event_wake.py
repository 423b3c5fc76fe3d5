"""A wake-up for the event follower when Rasa writes events, on PostgreSQL: LISTEN/NOTIFY.

A trigger on Rasa's `events` table sends `NOTIFY kefu_events, '<conversation id>'` for each row
(delivered at commit, so the row is readable when the console hears of it). The console listens on
one connection watched by its event loop (no thread, no poll) and wakes the follower only for the
conversations of its own shares. It is a wake-up and nothing more: the follower still reads from its
bookmarks and still polls, slowly (KEFU_FOLLOWER_FALLBACK_SECONDS), so a notification lost while the
connection was down costs at most one fallback interval — and every (re)connection wakes it once.

Until the trigger is in place (Rasa has not created its table yet, or this role may not add a
trigger to it) or while the connection is down, `listening` is False and the follower polls at
KEFU_POLL_SECONDS as before. Each console installs the trigger if it is missing (idempotent, under
an advisory lock so that two consoles starting together do not race).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable, Optional

import sqlalchemy as sa

from assist.store import short_error
from console.workers.event_log import UNDEFINED_TABLE

logger = logging.getLogger("kefu.console")

CHANNEL = "kefu_events"
NO_TABLE = "Rasa has not created its events table yet"
RETRY_SECONDS = 5.0  # between attempts to (re)connect or to install the trigger
# pg_notify's payload is at most 8000 bytes; a conversation id is far shorter (left out if not).
INSTALL = f"""
SELECT pg_advisory_xact_lock(hashtext('kefu_events_notify'));
CREATE OR REPLACE FUNCTION kefu_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{CHANNEL}', CASE WHEN octet_length(NEW.sender_id) < 7900 THEN NEW.sender_id ELSE '' END);
  RETURN NULL;
END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'kefu_events_notify' AND tgrelid = 'events'::regclass) THEN
    CREATE TRIGGER kefu_events_notify AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION kefu_events_notify();
  END IF;
END $$;
"""


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres"))


def connect(url: str):
    """A psycopg2 connection of its own (autocommit, TCP keepalives: a silently dead peer is noticed)."""
    import psycopg2

    parsed = sa.engine.make_url(url)
    args = {key: value for key, value in parsed.translate_connect_args(username="user", database="dbname").items() if value}
    connection = psycopg2.connect(**args, **dict(parsed.query), keepalives=1, keepalives_idle=10,
                                  keepalives_interval=5, keepalives_count=3, connect_timeout=5)
    connection.autocommit = True
    return connection


def reason_of(error: BaseException) -> str:
    """Why the wake-up is not there, in words an operator can act on."""
    code = getattr(error, "pgcode", None)
    if code == UNDEFINED_TABLE:
        return NO_TABLE
    if code == "42501":  # insufficient_privilege
        return ("this role may not add a trigger to Rasa's events table: let it own the table, or run the SQL in "
                "console/workers/event_wake.py as its owner")
    return f"{type(error).__name__}: {short_error(error)}"


class EventWake:
    """Sets `wake` when Rasa writes an event of a conversation `wanted` says is this console's."""

    def __init__(self, url: str, wake: asyncio.Event, wanted: Callable[[str], bool] = lambda _: True,
                 retry_seconds: float = RETRY_SECONDS):
        self.url, self.wake, self.wanted, self.retry_seconds = url, wake, wanted, retry_seconds
        self.connection = None
        self.fd: Optional[int] = None
        self.listening = False
        self.task: Optional[asyncio.Task] = None
        self.lost = asyncio.Event()
        self.complained = ""  # the last reason logged, so an outage is one line, not one per retry

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._keep_listening())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        self._drop()

    async def _keep_listening(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                self.connection = await asyncio.to_thread(self._listen)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._complain(reason_of(error))
                await asyncio.sleep(self.retry_seconds)
                continue
            self.lost.clear()
            self.fd = self.connection.fileno()  # kept: a closed connection no longer says its socket
            loop.add_reader(self.fd, self._readable)
            self.listening = True
            logger.info("follower: woken by Rasa's events (LISTEN %s); reading on its own every "
                        "KEFU_FOLLOWER_FALLBACK_SECONDS besides", CHANNEL)
            self.complained = ""
            self.wake.set()  # what was written while nobody listened is read now
            await self.lost.wait()
            self._drop()
            await asyncio.sleep(0.1)

    def _listen(self):
        connection = connect(self.url)
        try:
            with connection.cursor() as cursor:
                cursor.execute(INSTALL)
                cursor.execute(f"LISTEN {CHANNEL}")
        except Exception:
            connection.close()
            raise
        return connection

    def _readable(self) -> None:
        """The connection has something: notifications, or its end."""
        try:
            self.connection.poll()
        except Exception as error:
            self._complain(f"the connection was lost ({type(error).__name__})")
            self._drop()  # at once: a closed socket stays readable
            self.lost.set()
            return
        if any(self.wanted(note.payload) or not note.payload for note in self.connection.notifies):
            self.wake.set()
        self.connection.notifies.clear()

    def _drop(self) -> None:
        self.listening = False
        if self.fd is not None:
            try:
                asyncio.get_running_loop().remove_reader(self.fd)
            except (RuntimeError, ValueError, OSError):
                pass
            self.fd = None
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                pass
            self.connection = None

    def _complain(self, reason: str) -> None:
        if reason != self.complained:
            # A fresh install, before Rasa's first event, is no trouble: said, not warned.
            level = logging.INFO if reason == NO_TABLE else logging.WARNING
            logger.log(level, "follower: not woken by Rasa's events (%s); polling every KEFU_POLL_SECONDS until it is back, "
                           "trying again every %g s", reason, self.retry_seconds)
            self.complained = reason
