"""The one client for Rasa's HTTP API: parse a message, read a conversation, append events to it —
deliver a text, pause or resume the bot.

Rasa runs with its JWT auth (kefu_rasa/rasa_server.py: `--jwt-secret`, HS256). Every call carries
a token signed here with that secret, in the Authorization header — never in the URL, where
Rasa's `?token=` ended up in access logs, in `ps` and in stored delivery errors. A token lives a
minute (Rasa allows three minutes of clock skew), so one that leaks is soon worthless; its payload
is what Rasa checks: `{"user": {"username", "role": "admin"}, "exp"}`.

Every call has a timeout and raises RasaUnavailable when Rasa cannot answer; its message names no
URL query and no secret (it is logged and stored with the delivery). Each pushed bot event
carries its delivery id in metadata (`kefu_delivery`): before a retry the outbox looks in the
tracker for it, and kefu's channels (kefu_rasa/channels.py) send it to the customer's client with
the text, so a client that gets a push twice (its first answer was lost) shows it once.

A push the customer's channel refuses for good (WeChat's 48-hour rule) raises DeliveryRefused with
the channel's reason instead of RasaUnavailable: the outbox shows it failed and never retries it.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

import jwt
import requests

DEFAULT_TIMEOUT = 5.0
TOKEN_SECONDS = 60
JWT_METHOD = "HS256"  # what kefu_rasa/rasa_server.py gives Rasa as --jwt-method
# Channels Rasa can push to. REST cannot receive pushes (RasaHQ docs): its customers are
# served through the `callback` channel instead. `wechat`: the Official Account's customer-service
# message API (kefu_rasa/wechat.py).
PUSHABLE = {"socketio", "callback", "wechat"}
# How a channel says a push can never succeed (WeChat's 48-hour rule …): Rasa answers a push whose
# channel raised with 500 and the error's text; an error carrying this mark is a refusal for
# good, not an outage, and the outbox shows the delivery failed with the reason instead of retrying.
REFUSED_MARK = "kefu-refused:"


def delivery_key(delivery_id: int) -> str:
    """The id an outbox row travels under, in the tracker and to the customer's client."""
    return f"d{delivery_id}"


def message_id(message: Mapping[str, Any]) -> str:
    """The id a customer's client shows a bot message under, once: a pushed message's delivery id,
    else the bot event's time (the same in the live message and in the tracker's copy).
    `message` is a bot event's metadata and timestamp, or the message Rasa sends to a channel."""
    key = message.get("kefu_delivery") or (message.get("metadata") or {}).get("kefu_delivery")
    return str(key) if key else f"t{float(message.get('timestamp') or 0):.6f}"


def api_token(secret: str, seconds: int = TOKEN_SECONDS, username: str = "kefu") -> str:
    """A JWT Rasa accepts for every route of its HTTP API (role admin), valid `seconds`."""
    issued = int(time.time())
    payload = {"user": {"username": username, "role": "admin"}, "iat": issued, "exp": issued + seconds}
    return jwt.encode(payload, secret, algorithm=JWT_METHOD)


def auth_header(secret: str) -> Dict[str, str]:
    """The header every call to Rasa's HTTP API carries (for tests and tools too)."""
    return {"Authorization": f"Bearer {api_token(secret)}"} if secret else {}


_QUERY = re.compile(r"(/[^\s'\"?]*)\?[^\s'\")]+")


def without_queries(text: str) -> str:
    """URLs in `text` without their query strings (requests names the URL it failed on)."""
    return _QUERY.sub(lambda m: m.group(1) + "?…", text)


class RasaUnavailable(RuntimeError):
    """Rasa could not be asked (down, slow, refused, an odd answer); the caller retries or falls back."""


class DeliveryRefused(RuntimeError):
    """The customer's channel refused a pushed text for good (the reason, in agents' words, is the
    message): trying again cannot deliver it."""


def refusal(answer: str) -> Optional[str]:
    """The reason a channel gave for refusing a push for good, found in Rasa's error answer
    (JSON whose `message` ends with the channel's error text), or None."""
    try:
        parsed = json.loads(answer)
        message = parsed.get("message") if isinstance(parsed, dict) else None
    except ValueError:
        message = None
    text = message if isinstance(message, str) else answer
    at = text.find(REFUSED_MARK)
    if at < 0:
        return None
    return text[at + len(REFUSED_MARK):].strip() or "refused by the channel"


@dataclass(frozen=True)
class Parse:
    intent: Optional[str]
    ranking: List[Dict[str, Any]] = field(default_factory=list)
    entities: List[Dict[str, Any]] = field(default_factory=list)


class RasaClient:
    def __init__(self, url: str, secret: str, timeout: float = DEFAULT_TIMEOUT):
        self.url = url.rstrip("/")
        self.secret = secret
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, params: Optional[Dict[str, str]] = None, **kwargs) -> requests.Response:
        try:
            response = self.session.request(method, f"{self.url}{path}", params=params, headers=auth_header(self.secret),
                                            timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise RasaUnavailable(f"Rasa at {self.url} unreachable: {self._clean(str(error))}") from None
        if response.status_code != 200:
            refused = refusal(response.text) if response.status_code == 500 else None
            if refused:
                raise DeliveryRefused(refused)
            raise RasaUnavailable(f"Rasa answered {response.status_code} to {method} {path}: {self._clean(response.text[:300])}")
        return response

    def _clean(self, text: str) -> str:
        """No query string and no secret in what reaches logs and the store."""
        text = without_queries(text)
        return text.replace(self.secret, "***") if self.secret else text

    def status(self) -> Dict[str, Any]:
        """Rasa's /status: the loaded model (`model_file`), or RasaUnavailable."""
        try:
            return self._call("GET", "/status").json()
        except ValueError as error:
            raise RasaUnavailable(f"Rasa at {self.url} sent something that is not JSON") from error

    @staticmethod
    def _conversation(conversation_id: str) -> str:
        return f"/conversations/{requests.utils.quote(conversation_id, safe='')}"

    def parse(self, text: str) -> Parse:
        """What the model reads in `text` (POST /model/parse)."""
        try:
            payload = self._call("POST", "/model/parse", json={"text": text}).json()
        except ValueError as error:
            raise RasaUnavailable(f"Rasa at {self.url} sent something that is not JSON") from error
        if not isinstance(payload, dict):
            raise RasaUnavailable(f"Rasa at {self.url} sent an unexpected answer")
        intent = payload.get("intent") or {}
        return Parse(
            intent=intent.get("name") if isinstance(intent, dict) else None,
            ranking=[r for r in payload.get("intent_ranking") or [] if isinstance(r, dict)],
            entities=[e for e in payload.get("entities") or [] if isinstance(e, dict)],
        )

    def events(self, conversation_id: str) -> List[Dict[str, Any]]:
        return self._call("GET", f"{self._conversation(conversation_id)}/tracker").json().get("events", [])

    def append(self, conversation_id: str, events: List[Dict[str, Any]], channel: Optional[str] = None) -> None:
        params = {"include_events": "NONE"}
        if channel in PUSHABLE:
            params.update(output_channel=channel, execute_side_effects="true")
        self._call("POST", f"{self._conversation(conversation_id)}/tracker/events", params=params, json=events)

    def was_delivered(self, conversation_id: str, delivery_key: str) -> bool:
        return any(
            e.get("event") == "bot" and (e.get("metadata") or {}).get("kefu_delivery") == delivery_key
            for e in self.events(conversation_id)
        )

    def deliver(self, conversation_id: str, channel: Optional[str], text: str, delivery_key: str,
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
