"""Follows Rasa's event stream (the SQL event broker's `events` table) into the case service.

- A customer message in a conversation with an open case joins it (the bot is paused and stays
  quiet) and gets fresh drafts; 算了不用了 cancels the wait.
- A message that needs a person but has no case — the action server was unreachable or hung past
  KEFU_ACTION_TIMEOUT_SECONDS — opens the case here, with the order looked up like the action does.
  If the turn did not pause the bot (nobody told the customer anything), the holding message goes
  out through the outbox (which also pauses the bot), once per message, so nobody is left without
  an answer. A turn one of our actions answered without pausing is the bot's: the action asked the
  case service before answering (an angry customer is handed over there), so no second voice follows;
  a turn answered by a reply template alone (utter_greet) is still asked whether it needs a person.
- The bot's own messages (the holding message) join the transcript.
- A message from before the case opened (the bot answered it; the action opened the case on a later
  one) is not a follow-up: it does not join the case after the opening one. The case keeps the keys the
  opener's tracker held before it (`earlier_keys`), and the case service leaves those out even when the
  case opens while the follower is reading the earlier message.

Several consoles share the following (console/workers/shares.py): the conversations fall into 16
shares dealt out among the live following consoles, and each share keeps its own bookmark.

Nothing is skipped. The bookmark never passes an event that was not handled:
- the store unavailable (read-only, locked, down) stops the pass; the loop backs off and the same
  events are read again, never counted as failures;
- any other failure is retried with backoff while the other conversations go on (one
  conversation's events stay in order); after `max_tries` the event is kept as a dead letter
  (kefu_dead_letters, counted in the console's queue) and the stream moves on.
Handling is idempotent (a message joins a case once, by its message id), so events read again
after a crash or an outage change nothing.

Nor is an event that becomes visible late. With several Rasa servers writing one PostgreSQL table,
an id is taken at insert and becomes visible at commit: a smaller id can appear after a larger one
was read. So the bookmark is held before a gap in the ids (`Progress`) for GAP_SECONDS (30 s)
while the events after it are handled as they come (and remembered, so each is handled once); the
missing event, when it commits, is read from the held bookmark and handled. A gap still empty after
the grace is an insert that was rolled back (or a row erased) and is stepped over. Why not the
alternatives: a commit-time column would need Rasa's broker table changed; LISTEN/NOTIFY loses what
was sent while the console was away (so it only wakes the follower: console/workers/event_wake.py).
With one Rasa server (or SQLite) ids appear in order and there is no gap: the bookmark moves as
before. An insert left uncommitted longer than the grace (a Rasa server frozen mid-publish) is passed
over; a longer grace costs only re-reading what was handled.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, Optional, Set, Tuple

from assist.cases.messages import HANDOFF_ACTION, CustomerMessage, Outcome, earlier_keys_of, holding_key, image_of
from assist.cases.service import CaseService
from assist.store import StoreUnavailable, is_unavailable, short_error as short
from console.workers.bookmark import GAP_SECONDS, ShareBookmarks
from console.workers.event_log import EventLog, LoggedEvent
from console.workers.shares import Membership, share_of

logger = logging.getLogger(__name__)

# The bot's actions that ask the case service before answering (actions/person.py person_first): a
# turn they answered needs nobody to ask again. A reply template (utter_greet), the order form's
# question or Rasa's own fallback (the action server down) asked nobody.
ASKING_ACTIONS = frozenset({HANDOFF_ACTION, "action_order_status", "action_answer_faq", "action_reread"})
# Rasa publishes a turn's events one by one right after the turn: a turn with neither a pause,
# an action_listen nor a next message after this long is as complete as it will get.
TURN_SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class Turn:
    """What Rasa did with one customer message: paused the bot (someone told the customer what
    happens next), whether it ran the handoff action (the rules decided: a person), and whether one
    of our actions answered it (they ask the case service first, so nobody needs to ask again)."""

    paused: bool
    handover: bool
    answered: bool = False


class EventFollower:
    def __init__(self, cases: CaseService, events_url: str, name: str = "console", max_tries: int = 5,
                 retry_seconds: float = 0.5, settle_seconds: float = TURN_SETTLE_SECONDS,
                 observe: Optional[Callable[[Dict[str, Any], Outcome], None]] = None, gap_seconds: float = GAP_SECONDS,
                 membership: Optional[Membership] = None, save_seconds: float = 0.0):
        self.cases = cases
        self.observe = observe  # hears of each customer message handled (the console's metrics)
        self.store = cases.store
        self.name = name
        self.log = EventLog(events_url)
        self.max_tries = max_tries
        self.retry_seconds = retry_seconds
        self.settle_seconds = settle_seconds
        self.gap_seconds = gap_seconds
        self.membership = membership or Membership(self.store.follower)
        self.bookmarks = ShareBookmarks(gap_seconds)
        # The bookmarks are written at most this often (a write per poll is much of a busy follower's
        # work); after a crash the events since are read again, which changes nothing.
        self.save_seconds = save_seconds
        self.unsaved: Dict[str, int] = {}
        self.saved_at = 0.0
        self.failures: Dict[int, Tuple[int, float]] = {}  # event id → (tries, not before)
        self.first_seen: Dict[int, float] = {}             # user events whose turn is still being published
        self.mine: FrozenSet[int] = frozenset()            # the shares this console follows (read by the wake-up)

    def wants(self, conversation_id: str) -> bool:
        """Whether a new event of this conversation is this console's to handle (event_wake.py asks)."""
        return share_of(conversation_id) in self.mine

    def next_due(self) -> Optional[float]:
        """Seconds until something is due by the clock rather than by a new event — a retry, a turn
        that settles by waiting, an unsaved bookmark — or None: only a new event brings work."""
        dues = [not_before for _, not_before in self.failures.values()]
        dues += [first + self.settle_seconds for first in self.first_seen.values()]
        if self.unsaved:
            dues.append(self.saved_at + self.save_seconds)
        return max(0.0, min(dues) - time.monotonic()) if dues else None

    def poll(self, limit: int = 500) -> int:
        """Handle the events after the bookmarks of this console's shares; the number handled. Blocking:
        run it in a thread. Raises StoreUnavailable (nothing skipped) when the suggestion store cannot be used."""
        try:
            self._follow(self.membership.mine())
            if not self.bookmarks.shares:
                return 0
            # Past a held bookmark, what was handled is read again (and skipped): `limit` new ones still come.
            read_at = time.monotonic()
            rows = self.log.read_after(self.bookmarks.position, limit + self.bookmarks.handled_beyond())
            ids = [row.id for row in rows]
            self.bookmarks.saw(ids, read_at)
            waiting: Set[str] = set()  # conversations with an event not handled yet: keep their order
            handled = 0
            for row in rows:
                share = share_of(row.conversation_id)
                if share not in self.bookmarks.shares or self.bookmarks.is_done(share, row.id):
                    self.bookmarks.step_over(row.id)  # another console's share, or handled before
                elif row.conversation_id in waiting or not self._try(row):
                    waiting.add(row.conversation_id)
                    self.bookmarks.step_over(row.id, but=share)
                else:
                    self.bookmarks.step_over(row.id)
                    handled += 1
            self.unsaved.update({self._bookmark(share): at for share, at in self.bookmarks.advance(ids).items()})
            if self.unsaved and time.monotonic() - self.saved_at >= self.save_seconds:
                self.store.follower.move_forward(self.unsaved)
                self.unsaved, self.saved_at = {}, time.monotonic()
            return handled
        except Exception as error:
            if is_unavailable(error) and not isinstance(error, StoreUnavailable):
                raise StoreUnavailable(f"the suggestion store is unavailable: {short(error)}") from error
            raise

    def _bookmark(self, share: int) -> str:
        return f"{self.name}/share-{share:02d}"

    def _follow(self, shares) -> None:
        """Follow these shares; one newly dealt to this console goes on from its stored bookmark (the
        first time ever, from the single bookmark consoles kept before the stream was shared)."""
        new = [share for share in shares if share not in self.bookmarks.shares]
        stored = self.store.follower.positions([self._bookmark(share) for share in new],
                                               self.store.follower.position(self.name)) if new else {}
        self.mine = frozenset(shares)
        self.bookmarks.follow({share: self.bookmarks.shares[share].position if share in self.bookmarks.shares
                               else stored[self._bookmark(share)] for share in shares})

    def _try(self, row: LoggedEvent) -> bool:
        """True when the event is handled (or given up on as a dead letter); False: later."""
        tries, not_before = self.failures.get(row.id, (0, 0.0))
        if time.monotonic() < not_before:
            return False
        try:
            handled = self.handle(row.id, row.conversation_id, json.loads(row.data))
        except Exception as error:
            if is_unavailable(error):
                raise  # waited out by the loop, never counted against the event
            tries += 1
            if tries >= self.max_tries:
                self.store.dead_letters.add(self.name, row.id, row.conversation_id, row.data, f"{type(error).__name__}: {error}", tries)
                logger.error("event %s of %s failed %d times, kept as a dead letter: %s", row.id, row.conversation_id, tries, short(error))
                self.failures.pop(row.id, None)
                return True
            if tries == 1:
                logger.exception("event %s of %s could not be handled; trying again", row.id, row.conversation_id)
            self.failures[row.id] = (tries, time.monotonic() + self.retry_seconds * 2 ** (tries - 1))
            return False
        self.failures.pop(row.id, None)
        return handled

    def handle(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> bool:
        """False when the event must wait (its turn is still being published)."""
        kind = event.get("event")
        if kind == "user":
            return self._customer(event_id, conversation_id, event)
        if kind == "bot" and not (event.get("metadata") or {}).get("kefu_delivery"):
            case = self.store.cases.open_case_for(conversation_id)
            if case and event.get("text"):
                self.store.cases.add_message(case["id"], "bot", event["text"], source_key=f"evt:{event_id}")
        return True

    def _customer(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> bool:
        message = CustomerMessage(
            conversation_id=conversation_id, text=event.get("text") or "",
            message_id=str(event.get("message_id") or event_id), channel=event.get("input_channel"),
            parse=event.get("parse_data") or {}, history=lambda: self.log.earlier_words(conversation_id, event_id),
            image_id=image_of(event.get("metadata")),
        )
        case = self.store.cases.open_case_for(conversation_id)
        opening = self.store.cases.opening_key(case["id"]) if case is not None else None
        if case is not None and opening != message.key:
            if (earlier_keys_of(case) is None and (opened_at := self.log.position_of(conversation_id, opening)) is not None
                    and opened_at > event_id):
                return True  # said before the case opened (found in Rasa's events: the case does not know its earlier keys)
            # A follow-up joins the open case (the bot is paused); one the opener's tracker held already
            # (its earlier keys) is left out by the case service.
            outcome = self.cases.on_customer_message(message)
            if self.observe:
                self.observe(event, outcome)
            return True
        turn = self._turn(event_id, conversation_id)
        if turn is None:
            return False
        if turn.answered and not turn.paused:
            return True  # the bot answered it (a rules question, an order status …): the customer has one answer
        # A paused turn handed over, whichever action paused it (the handoff, a late order's status).
        outcome = self.cases.on_customer_message(message, hand_over=turn.handover or turn.paused,
                                                 hold_through_outbox=not turn.paused)
        if self.observe:
            self.observe(event, outcome)
        if (not turn.paused and outcome.kind == "duplicate" and self.store.cases.opening_key(outcome.case_id) == message.key
                and not self.log.paused_after(conversation_id, event_id)):
            # The action opened the case but Rasa gave up waiting for it, so its holding message never
            # reached the customer — or this very event opened it and queueing the holding failed. (A
            # pause since means a later hand-over opened it here and told the customer: no second voice.)
            self.store.outbox.queue_message(outcome.case_id, self.cases.holding_text(outcome.case_id), kind="holding",
                                            once_key=holding_key(message))
        return True

    def _turn(self, event_id: int, conversation_id: str) -> Optional[Turn]:
        turn, settled = [], False
        for later in self.log.after(conversation_id, event_id):
            if later.get("event") == "user":
                settled = True
                break
            turn.append(later)
        paused = any(e.get("event") == "pause" for e in turn)
        actions = [e.get("name") for e in turn if e.get("event") == "action"]
        if not (settled or paused or "action_listen" in actions):
            first = self.first_seen.setdefault(event_id, time.monotonic())
            if time.monotonic() - first < self.settle_seconds:
                return None
        self.first_seen.pop(event_id, None)
        said = any(e.get("event") == "bot" and (e.get("text") or "").strip()
                   and not (e.get("metadata") or {}).get("kefu_delivery") for e in turn)
        asked = any(name in ASKING_ACTIONS for name in actions)
        return Turn(paused=paused, handover=HANDOFF_ACTION in actions, answered=said and asked)

