"""What a customer's client must send before Rasa sees it: kefu's REST and socket.io channels
(kefu_rasa/channels.py) check every message here and answer a bad one clearly — REST with a 400,
socket.io with a `kefu_error` event — instead of Rasa's 500, a silent `200 []`, silence on the
socket, or a message filed under the shared `default` conversation.

    {"sender": "<conversation id>", "message": "<text>", "metadata": {...}?}     (REST)
    {"session_id": "<the session this socket joined>", "message": "<text>", "metadata": {...}?}   (socket.io)

An answer names a code, as the console's API does: malformed_json (not JSON, or not an object),
missing_field, bad_field (a number, list, null or object where text belongs; a lone surrogate, which
is not text), too_long (over KEFU_MAX_MESSAGE_CHARS), unknown_session (socket.io: a session this
socket did not join). A socket.io message may carry `message_id` (a UUID the client makes once per
message and sends again with a retry): it becomes Rasa's message id, by which the case takes a message once. An empty message is text: the bot answers it as it answers any other.
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any, Dict, Mapping, Optional, Tuple

MAX_SENDER_CHARS = 255  # Rasa's SQL tracker store keeps sender_id in 255 characters
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadMessage(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def answer(self) -> Dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def _text(data: Mapping[str, Any], field: str, max_chars: int, required: bool = True) -> Optional[str]:
    if field not in data:
        if required:
            raise BadMessage("missing_field", f"'{field}' is required")
        return None
    value = data[field]
    if not isinstance(value, str):
        kind = "null" if value is None else type(value).__name__
        raise BadMessage("bad_field", f"'{field}' must be a string of text, not {kind}")
    if _SURROGATE.search(value):
        raise BadMessage("bad_field", f"'{field}' contains a lone surrogate (half of an emoji's UTF-16 pair), which is not text")
    if len(value) > max_chars:
        raise BadMessage("too_long", f"'{field}' is {len(value)} characters; at most {max_chars}")
    return value


def parse_body(body: bytes) -> Dict[str, Any]:
    """A REST request's body as a JSON object, or BadMessage(malformed_json)."""
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise BadMessage("malformed_json", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadMessage("malformed_json", "the request body must be a JSON object: {\"sender\": …, \"message\": …}")
    return data


def rest_message(data: Mapping[str, Any], max_chars: int) -> Tuple[str, str]:
    """(sender, text) of a REST message, or BadMessage. A missing sender is refused: Rasa would
    file the message under `default`, one conversation shared by every such client."""
    sender = _text(data, "sender", MAX_SENDER_CHARS)
    if not sender.strip():
        raise BadMessage("missing_field", "'sender' must not be empty: it names the customer's conversation")
    return sender, _text(data, "message", max_chars)


def session_id(data: Any) -> Optional[str]:
    """The session a socket asks to join: a UUID (the web chat makes a random uuid4, so nobody can
    guess another customer's), or None for a fresh one; BadMessage for anything else."""
    wanted = data.get("session_id") if isinstance(data, dict) else None
    if wanted is None or wanted == "":
        return None
    if not isinstance(wanted, str):
        raise BadMessage("bad_field", "'session_id' must be a string")
    try:
        uuid.UUID(wanted)
    except ValueError:
        raise BadMessage("bad_field", "'session_id' must be a random UUID (uuid4), never a user id, phone or order number") from None
    return wanted


def socket_message(data: Any, joined: Optional[str], max_chars: int, metadata_key: str) -> Tuple[str, Dict[str, Any]]:
    """(text, metadata) of a socket.io message for the session this socket joined, or BadMessage."""
    if not isinstance(data, dict):
        raise BadMessage("malformed_json", "a message is an object: {\"session_id\": …, \"message\": …}")
    if joined is None:
        raise BadMessage("unknown_session", "send session_request first: this socket has joined no session")
    if data.get("session_id") != joined:
        raise BadMessage("unknown_session", "'session_id' is not the session this socket joined")
    text = _text(data, "message", max_chars)
    metadata = data.get(metadata_key) or {}
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            raise BadMessage("bad_field", f"'{metadata_key}' is not valid JSON") from None
    if not isinstance(metadata, dict):
        raise BadMessage("bad_field", f"'{metadata_key}' must be an object")
    return text, metadata


def client_message_id(data: Any) -> Optional[str]:
    """The UUID a socket.io client gave its message (kept on a retry), or None; BadMessage if not a UUID."""
    given = data.get("message_id") if isinstance(data, dict) else None
    if given is None:
        return None
    try:
        if isinstance(given, str):
            return str(uuid.UUID(given))
    except ValueError:
        pass
    raise BadMessage("bad_field", "'message_id' must be a UUID the client made for this message")
