"""Talks to Rasa's HTTP API (token-protected) to deliver text, pause and resume the bot.

Every call has a timeout. Delivery is made exactly once: each pushed bot event carries its
delivery id in metadata, and before a retry we look in the tracker for it, so a push whose
answer was lost (timeout after Rasa stored it) is not sent twice.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import requests

# Channels Rasa can push to. REST cannot receive pushes (RasaHQ docs): its customers are
# served through the `callback` channel instead.
PUSHABLE = {"socketio", "callback"}


class RasaUnavailable(RuntimeError):
    pass


class RasaClient:
    def __init__(self, url: str, token: str, timeout: float = 5.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = requests.Session()

    def _events_url(self, conversation_id: str) -> str:
        return f"{self.url}/conversations/{requests.utils.quote(conversation_id, safe='')}/tracker/events"

    def append(self, conversation_id: str, events: List[Dict[str, Any]], channel: Optional[str] = None) -> None:
        params = {"token": self.token, "include_events": "NONE"}
        if channel in PUSHABLE:
            params.update(output_channel=channel, execute_side_effects="true")
        try:
            response = self.session.post(self._events_url(conversation_id), params=params, json=events, timeout=self.timeout)
        except requests.RequestException as error:
            raise RasaUnavailable(f"Rasa at {self.url} unreachable: {error}") from error
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered {response.status_code}: {response.text[:300]}")

    def events(self, conversation_id: str) -> List[Dict[str, Any]]:
        try:
            response = self.session.get(
                f"{self.url}/conversations/{requests.utils.quote(conversation_id, safe='')}/tracker",
                params={"token": self.token}, timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise RasaUnavailable(f"Rasa at {self.url} unreachable: {error}") from error
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered {response.status_code}: {response.text[:300]}")
        return response.json().get("events", [])

    def was_delivered(self, conversation_id: str, delivery_key: str) -> bool:
        return any(
            e.get("event") == "bot" and (e.get("metadata") or {}).get("kefu_delivery") == delivery_key
            for e in self.events(conversation_id)
        )

    def deliver(self, conversation_id: str, channel: str, text: str, delivery_key: str,
                resume: bool = False, pause: bool = False, sender: str = "agent") -> None:
        events: List[Dict[str, Any]] = []
        if text:
            events.append({"event": "bot", "text": text, "metadata": {"kefu_delivery": delivery_key, "kefu_sender": sender}})
        if pause:
            events.append({"event": "pause"})
        if resume:
            # The handoff action paused before Rasa logged action_listen; without it no rule
            # matches the customer's next message once the bot is back.
            events += [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        if events:
            self.append(conversation_id, events, channel)
