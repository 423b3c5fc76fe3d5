"""One customer message as Rasa saw it, what the case service did with it, and the helpers that
read them out of Rasa's events (the handoff action's tracker, the console's event follower)."""
from __future__ import annotations

import json

from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

# How many of the customer's earlier message keys a new case keeps (the follower can only lag so far).
EARLIER_KEYS = 50
HANDOFF_ACTION = "action_handoff"


@dataclass(frozen=True)
class CustomerMessage:
    """One message as Rasa saw it. `parse` is Rasa's parse (intent, intent_ranking, entities);
    `history` the customer's earlier words when no case holds them yet (or a function that reads
    them, called only then); `remembered` what Rasa's slots keep from earlier turns (order_id …)."""

    conversation_id: str
    text: str                      # as the customer typed it (agents read it verbatim)
    message_id: str                # unique per message: Rasa's message id, else the event's
    channel: Optional[str] = None
    parse: Mapping[str, Any] = field(default_factory=dict)
    history: Union[Sequence[str], Callable[[], Sequence[str]]] = ()
    remembered: Mapping[str, Any] = field(default_factory=dict)
    image_id: Optional[str] = None  # a photo the customer sent (metadata kefu_image; its text is [图片])
    # The customer's earlier messages in the tracker, oldest first: (key, text, photo id); None: not
    # known (the event follower does not read them for every message).
    earlier: Optional[Sequence[Tuple[str, str, Optional[str]]]] = None
    # An earlier message Rasa's rules handed to a person whose handoff never ran (stranded_handover):
    # the case opens on it, not on this one.
    stranded: Optional["CustomerMessage"] = None

    @property
    def intent(self) -> Optional[str]:
        return (self.parse.get("intent") or {}).get("name")

    @property
    def key(self) -> str:
        return f"msg:{self.message_id}"

    @property
    def earlier_keys(self) -> List[str]:
        """A case opened on this message never takes these as its follow-ups."""
        return [key for key, _text, _image in self.earlier or ()]

    def earlier_words(self) -> List[str]:
        return list(self.history() if callable(self.history) else self.history)


@dataclass(frozen=True)
class Outcome:
    """What happened: none (the bot answers it), opened, joined, cancelled, duplicate (seen before),
    earlier (said before the open case's first message: not a follow-up)."""

    kind: str
    case_id: Optional[str] = None
    batch: Optional[int] = None
    holding_text: Optional[str] = None  # opened: what the customer is told while a person takes over
    reply_text: Optional[str] = None    # cancelled: the goodbye that was queued


def holding_key(message: CustomerMessage) -> str:
    """One holding message per customer message, whoever queues it and however often."""
    return f"hold:{message.key}"


def image_of(metadata: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The photo id a customer's message carries in its metadata (the web chat's `kefu_image`), if any."""
    image = (metadata or {}).get("kefu_image") if isinstance(metadata, Mapping) else None
    image_id = image.get("id") if isinstance(image, Mapping) else None
    return image_id if isinstance(image_id, str) and 0 < len(image_id) <= 64 else None


def earlier_messages(events: Sequence[Mapping[str, Any]], limit: int = EARLIER_KEYS) -> List[Tuple[str, str, Optional[str]]]:
    """The customer's messages before the latest one, oldest first, as (key, text, photo id): a case
    opened on the latest never takes them as its follow-ups, and one joined on the latest first takes
    those after its opening message that are not in it yet (the follower may still be behind)."""
    said = [e for e in events if e.get("event") == "user"][:-1][-limit:]
    return [(f"msg:{e['message_id']}", e.get("text") or "", image_of(e.get("metadata"))) for e in said if e.get("message_id")]


def earlier_keys_of(case: Mapping[str, Any]) -> Optional[List[str]]:
    """The keys of the messages before the one that opened the case, as the opener's tracker held them
    (no waiting for Rasa to publish the opening turn, no search of its events); None: not known."""
    try:
        earlier = json.loads(case["earlier_keys"]) if case.get("earlier_keys") is not None else None
    except ValueError:
        return None
    return earlier if isinstance(earlier, list) else None


def customer_texts(events: List[Mapping[str, Any]], limit: int = 6) -> List[str]:
    """The customer's earlier words from Rasa events, oldest first (the latest excluded)."""
    texts = [e.get("text") or "" for e in events if e.get("event") == "user" and e.get("text")]
    return texts[:-1][-limit:]


def stranded_handover(events: Sequence[Mapping[str, Any]], conversation_id: str,
                      channel: Optional[str] = None) -> Optional[CustomerMessage]:
    """The earliest of the customer's earlier messages (the latest excluded) that Rasa's rules handed
    to a person while nobody took it: its turn ran the handoff action, the action never answered
    (Rasa gave up waiting for the action server: the turn logs the action and nothing after it) and
    the bot has not been paused since. The console's event follower opens such a case; when it is
    behind (or down) and the customer writes on, the bot answers the follow-ups, and the next
    hand-over must open the case on this message — the one that needed a person — with the
    follow-ups after it, not on itself. None: no such message."""
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    last_pause = max((i for i, e in enumerate(events) if e.get("event") == "pause"), default=-1)
    for at, following in zip(users, users[1:]):
        event = events[at]
        if at < last_pause or not event.get("message_id") or not (event.get("text") or "").strip():
            continue
        if any(e.get("event") == "action" and e.get("name") == HANDOFF_ACTION for e in events[at + 1:following]):
            return CustomerMessage(
                conversation_id=conversation_id, text=event["text"], message_id=str(event["message_id"]),
                channel=event.get("input_channel") or channel, parse=event.get("parse_data") or {},
                history=customer_texts(list(events[:at + 1])), image_id=image_of(event.get("metadata")),
                earlier=earlier_messages(events[:at + 1]),
            )
    return None
