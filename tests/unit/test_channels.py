"""kefu's Rasa channels (kefu_rasa/channels.py) against fakes at the far edge: the socket server,
the callback client. Every message goes out whole with its id; a pushed callback message that the
client does not acknowledge fails the push; a returning socket gets what it missed."""
from __future__ import annotations

import asyncio

import pytest
from rasa.core.actions import action as rasa_action
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import ClientResponseError

from assist.store import SuggestionStore
from kefu_rasa import channels


class FakeSocketServer:
    def __init__(self):
        self.emitted = []

    async def emit(self, event, data=None, room=None, **kwargs):
        self.emitted.append((event, data, room))


class FakeEndpoint:
    """Rasa's EndpointConfig at the far edge: a callback client that takes or refuses."""

    def __init__(self, fail=None):
        self.posted, self.fail = [], fail

    async def request(self, method, content_type=None, json=None, timeout=None, **kwargs):
        self.posted.append(json)
        if self.fail is not None:
            raise self.fail


def pushed(text, key="d7", sender="agent"):
    """A bot event as the outbox appends it, turned into what Rasa hands a channel."""
    return BotUttered(text, metadata={"kefu_delivery": key, "kefu_sender": sender}, timestamp=1700000000.5).message()


def test_the_kefu_channels_bound_rasas_wait_for_the_action_server(monkeypatch):
    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", 300)
    monkeypatch.setenv("KEFU_ACTION_TIMEOUT_SECONDS", "4")
    channel = channels.SocketIOInput.from_credentials({"session_persistence": True})
    assert isinstance(channel, channels.SocketIOInput) and rasa_action.DEFAULT_REQUEST_TIMEOUT == 4.0
    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", 300)
    assert isinstance(channels.CallbackInput.from_credentials({"url": "http://127.0.0.1:1/bot"}), channels.CallbackInput)
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT == 4.0


def test_a_socket_message_goes_out_whole_with_its_delivery_id():
    sio = FakeSocketServer()
    output = channels.SocketIOOutput(sio, "bot_uttered")
    asyncio.run(output.send_response("s1", pushed("第一段\n\n第二段")))
    asyncio.run(output.send_response("s1", BotUttered("您好", timestamp=1700000001.25).message()))
    assert sio.emitted == [
        ("bot_uttered", {"text": "第一段\n\n第二段", "id": "d7", "sender": "agent", "timestamp": 1700000000.5}, "s1"),
        ("bot_uttered", {"text": "您好", "id": "t1700000001.250000", "sender": "bot", "timestamp": 1700000001.25}, "s1"),
    ]


def test_a_returning_socket_gets_what_came_after_its_last_message():
    sio = FakeSocketServer()
    channel = channels.SocketIOInput(session_persistence=True)
    channel.sio = sio
    tracker = DialogueStateTracker.from_events("s1", [
        UserUttered("我要投诉", timestamp=10.0),
        BotUttered("已为您转接人工客服", timestamp=11.0),
        BotUttered("我是客服小王", metadata={"kefu_delivery": "d1", "kefu_sender": "agent"}, timestamp=20.0),
    ])
    asyncio.run(channel._send_missed("sid-2", tracker, since=11.0))
    assert [(data["id"], room) for _, data, room in sio.emitted] == [("d1", "sid-2")]


def test_a_callback_push_counts_only_when_the_client_took_it(tmp_path, monkeypatch):
    from kefu_rasa import callback_retry

    monkeypatch.setattr(callback_retry, "RETRY_DELAYS", ())
    store = SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")
    refused = FakeEndpoint(fail=ClientResponseError(503, "Service Unavailable", b"busy"))
    output = channels.CallbackOutput(refused, timeout=2, retry=callback_retry.CallbackRetry(
        refused, 2, posts=lambda: store.callback_posts))
    with pytest.raises(channels.CallbackNotAcknowledged, match="d7"):
        asyncio.run(output.send_response("cb-1", pushed("我是客服小王")))
    assert refused.posted[0] == {"recipient_id": "cb-1", "text": "我是客服小王", "id": "d7", "sender": "agent",
                                 "timestamp": 1700000000.5}
    # A message inside the customer's own turn is not failed: the turn goes on, the message is kept for a retry.
    asyncio.run(output.send_response("cb-1", BotUttered("您好", timestamp=1.0).message()))
    assert store.callback_posts.pending(["cb-1"]) == 1
    hung = channels.CallbackOutput(FakeEndpoint(fail=asyncio.TimeoutError()), timeout=2)
    with pytest.raises(channels.CallbackNotAcknowledged):
        asyncio.run(hung.send_response("cb-1", pushed("我是客服小王")))
    taken = FakeEndpoint()
    asyncio.run(channels.CallbackOutput(taken, timeout=2).send_response("cb-1", pushed("我是客服小王")))
    assert [m["id"] for m in taken.posted] == ["d7"]
