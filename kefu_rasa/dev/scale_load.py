"""The shoppers of the scale-out proof: REST customers on Rasa's callback channel.

Each conversation sends its messages one after another (a person waits for the answer), to the
Rasa server `route()` names; a server that refuses the connection is skipped for the next on the
ring, as the proxy would. A 5xx (a store down, the request refused as retryable) is tried again
after a pause. When the connection breaks after the message was sent (the server killed mid-turn),
the customer's client cannot know whether it landed: it looks in the tracker before sending again,
so a message is never sent twice into one conversation nor lost.
"""
from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import requests
from urllib3.exceptions import NewConnectionError

from assist.integrations.rasa import auth_header
from kefu_rasa.dev.callback_inbox import CallbackInbox
from kefu_rasa.dev.scale_cluster import Cluster, route
from kefu_rasa.dev.scale_texts import conversation_script

SEND_DEADLINE = 240.0  # a message not taken within this is a failure (a deadlock, not a delay)


class ScaleInbox(CallbackInbox):
    """The customers' client: also records who sent each message (bot or agent) and its id."""

    def __init__(self, host: str = "127.0.0.1"):
        super().__init__(host)
        self.messages: Dict[str, List[Tuple[float, str, Optional[str], str]]] = defaultdict(list)  # after dropping seen ids
        self.first_arrival: Dict[str, float] = {}  # delivery id → when it first arrived

    def take(self, body: dict) -> None:
        recipient, key = body.get("recipient_id"), body.get("id")
        fresh = key is None or key not in self.ids[recipient]
        super().take(body)
        if fresh:
            at = time.monotonic()
            self.messages[recipient].append((at, body.get("text"), key, body.get("sender") or "bot"))
            if key:
                self.first_arrival.setdefault(key, at)

    def shown(self, recipient: str) -> List[Tuple[float, str, Optional[str], str]]:
        with self.lock:
            return list(self.messages[recipient])

    def copies(self, recipient: str, key: str) -> int:
        """How many times a message with this id reached the client (before it dropped repeats)."""
        with self.lock:
            return sum(1 for _, _, k in self.raw[recipient] if k == key)


@dataclass
class Sent:
    text: str
    asked_at: float                      # monotonic, when the customer first tried
    answered_at: Optional[float] = None  # when a server took it (200)
    attempts: List[Tuple[float, str]] = field(default_factory=list)  # (when, outcome) of every try


@dataclass
class Conversation:
    conversation_id: str
    script: List[str]
    sent: List[Sent] = field(default_factory=list)
    failed: Optional[str] = None

    @property
    def done(self) -> bool:
        return len(self.sent) == len(self.script) and all(s.answered_at for s in self.sent)


def make_conversations(count: int, messages: int, seed: int = 21) -> List[Conversation]:
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    return [Conversation(f"scale-{run}-{i}", conversation_script(rng, messages, i)) for i in range(count)]


def _refused(error: requests.ConnectionError) -> bool:
    """Nothing was sent: the connection itself was refused (the server is down)."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)


class Customers:
    """Sends the conversations' messages; `router(conversation_id)` gives the servers to try, in order."""

    def __init__(self, cluster: Cluster, router: Optional[Callable[[str], List[str]]] = None):
        self.cluster = cluster
        self.router = router or (lambda conversation_id: route(conversation_id, cluster.rasa_urls))
        self.local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def send(self, conversation: Conversation, text: str) -> Sent:
        sent = Sent(text, time.monotonic())
        conversation.sent.append(sent)
        # One id for every try of this message: the case takes it once, whichever try reached Rasa's events.
        body = {"sender": conversation.conversation_id, "message": text, "message_id": str(uuid.uuid4())}
        while time.monotonic() - sent.asked_at < SEND_DEADLINE:
            outcome = self._try(conversation, body)
            sent.attempts.append((time.monotonic(), outcome))
            # "broken", or a 500 (not the retryable 503): maybe taken — the tracker says.
            unsure = outcome == "broken" or (outcome.startswith("5") and outcome != "503")
            if outcome == "200" or (unsure and self.landed(conversation.conversation_id, text)):
                sent.answered_at = time.monotonic()
                return sent
            time.sleep(1.0 if outcome in ("refused", "broken") else 0.5)
        conversation.failed = f"message {len(conversation.sent)} not taken within {SEND_DEADLINE:.0f} s: {sent.attempts[-3:]}"
        return sent

    def _try(self, conversation: Conversation, body: dict) -> str:
        for server in self.router(conversation.conversation_id):
            try:
                response = self._session().post(f"{server}/webhooks/callback/webhook", json=body, timeout=(3, 90))
            except requests.ConnectionError as error:
                if _refused(error):
                    continue  # down: the proxy tries the next server on the ring
                return "broken"
            except requests.Timeout:
                return "broken"
            return str(response.status_code)
        return "refused"

    def landed(self, conversation_id: str, text: str) -> bool:
        """Is `text` in the conversation's tracker (asked of any Rasa server that answers)?"""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for server in self.router(conversation_id):
                try:
                    response = self._session().get(f"{server}/conversations/{conversation_id}/tracker",
                                                   headers=auth_header(self.cluster.instances[0].secret), timeout=10)
                except requests.RequestException:
                    continue
                if response.ok:
                    return text in user_texts(response.json())
            time.sleep(1)
        return False

    def run(self, conversation: Conversation, pause: Callable[[], float], stop: threading.Event) -> None:
        """One shopper: every message of the script, `pause()` seconds apart."""
        for text in conversation.script:
            if stop.is_set():
                conversation.failed = conversation.failed or "stopped"
                return
            if self.send(conversation, text).answered_at is None:
                return
            time.sleep(pause())


def user_texts(tracker: dict) -> List[str]:
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]
