"""A web-chat customer on Rasa's socket.io channel, for tests and benchmarks: does what
console/static/chat.js does — a random uuid4 session, `session_request` with `kefu_since` (the
time of the last bot message shown) on every (re)connect, and each message id shown once."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import List, Optional, Tuple

import socketio

# python-socketio's client says "packet queue is empty, aborting" on stderr whenever a connection ends.
logging.getLogger("engineio.client").setLevel(logging.CRITICAL)


class WebCustomer:
    def __init__(self, url: str, connect: bool = True):
        self.url = url
        self.session_id = str(uuid.uuid4())
        self.shown: List[Tuple[float, str, Optional[str]]] = []  # (arrival, text, id): what the customer sees
        self.dropped = 0                                          # arrivals with an id already shown
        self.since = 0.0
        self.sent: List[Tuple[float, str]] = []
        self.lock = threading.Lock()
        self.client = self._client()
        if connect:
            self.connect()

    def _client(self) -> socketio.Client:
        client = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=2)
        client.on("bot_uttered", self._arrived)
        # (Re)join the session's room after every (re)connect, catching up on what was missed.
        client.on("connect", self._request_session)
        return client

    def connect(self) -> None:
        self.client.connect(self.url, transports=["polling"], wait_timeout=20)

    def drop(self) -> None:
        """The tab loses its connection: this client is gone for good (a python-socketio client
        that disconnects can still hand over a message its last long-poll was carrying)."""
        old, self.client = self.client, self._client()
        old.handlers = {}
        old.disconnect()

    def reconnect(self) -> None:
        """The same session comes back on a new connection (and catches up)."""
        self.connect()

    def _request_session(self) -> None:
        self.client.emit("session_request", {"session_id": self.session_id, "kefu_since": self.since})

    def _arrived(self, data) -> None:
        if not isinstance(data, dict):
            return
        key, at = data.get("id"), data.get("timestamp")
        with self.lock:
            if key is not None and any(key == shown for _, _, shown in self.shown):
                self.dropped += 1
                return
            self.shown.append((time.monotonic(), data.get("text"), key))
            if isinstance(at, (int, float)) and at > self.since:
                self.since = float(at)

    def say(self, text: str) -> float:
        at = time.monotonic()
        with self.lock:
            self.sent.append((at, text))
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})
        return at

    @property
    def received(self) -> List[str]:
        with self.lock:
            return [text for _, text, _ in self.shown]

    def first_answer_after(self, at: float) -> Optional[float]:
        with self.lock:
            return next((arrived for arrived, _, _ in self.shown if arrived >= at), None)

    def wait_for(self, count: int, timeout: float = 20) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.05)
        return self.received

    def close(self) -> None:
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - already gone
            pass
