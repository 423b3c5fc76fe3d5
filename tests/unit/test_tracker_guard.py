"""kefu_rasa/tracker_guard.py without servers: a tracker store that fails fails the caller (Rasa's
FailSafeTrackerStore answers None, a fresh conversation); REST's webhook answers 503 for a turn the
store failed, also when it failed while saving; a socket.io turn's answers wait for the save.
The store's failure is a store subclass that raises (the far edge); the whole flow on a real
PostgreSQL that goes down is tests/integration/test_tracker_store_down.py."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from rasa.core import agent as rasa_agent
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from kefu_rasa.channels import RestInput
from kefu_rasa.customer_input import BadMessage, client_message_id
from kefu_rasa.tracker_guard import CODE, FailClosedTrackerStore, HeldEmits, TrackerStoreUnavailable, install


@pytest.fixture(autouse=True)
def rasa_as_shipped(monkeypatch):
    """install() rebinds a name in rasa.core.agent: undone after each test here."""
    monkeypatch.setattr(rasa_agent, "FailSafeTrackerStore", FailSafeTrackerStore)


class DatabaseDown(InMemoryTrackerStore):
    """A store whose database refuses connections: for reads, for saves, or both."""

    def __init__(self, reads: bool = True, saves: bool = True):
        super().__init__(Domain.empty())
        self.reads, self.saves = reads, saves

    async def retrieve(self, sender_id):
        if self.reads:
            raise ConnectionRefusedError("could not connect to server: Connection refused")
        return await super().retrieve(sender_id)

    async def save(self, tracker):
        if self.saves:
            raise ConnectionRefusedError("server closed the connection unexpectedly")
        await super().save(tracker)


def test_rasa_fail_safe_store_answers_a_failed_read_with_no_conversation():
    assert asyncio.run(FailSafeTrackerStore(DatabaseDown()).retrieve("c1")) is None  # what kefu replaces


def test_the_fail_closed_store_fails_a_read_and_a_save():
    store = FailClosedTrackerStore(DatabaseDown())
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(store.retrieve("c1"))
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(store.get_or_create_tracker("c1"))  # never a fresh conversation
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(store.save(DialogueStateTracker("c1", [])))


def test_the_fail_closed_store_passes_what_works_through():
    store = FailClosedTrackerStore(DatabaseDown(reads=False, saves=False))
    tracker = DialogueStateTracker.from_events("c1", [UserUttered("你好", message_id="m1")])
    asyncio.run(store.save(tracker))
    assert [e.text for e in asyncio.run(store.retrieve("c1")).events if isinstance(e, UserUttered)] == ["你好"]


def test_install_makes_rasa_agents_wrap_their_store_fail_closed():
    install()
    install()
    store = rasa_agent.Agent._create_tracker_store(InMemoryTrackerStore(Domain.empty()), Domain.empty())
    assert type(store) is FailClosedTrackerStore


def rest_app(turn_fails_on: str) -> Sanic:
    """Kefu's REST channel on a Sanic app whose turn reads, answers, then saves through `store`."""
    store = FailClosedTrackerStore(DatabaseDown(reads=turn_fails_on == "read", saves=turn_fails_on == "save"))

    async def on_new_message(message: UserMessage) -> None:
        tracker = await store.get_or_create_tracker(message.sender_id)
        await message.output_channel.send_text_message(message.sender_id, "您好，请问有什么可以帮您？")
        tracker.update(UserUttered(message.text, message_id=message.message_id))
        await store.save(tracker)

    app = Sanic(f"guard{uuid.uuid4().hex}")
    app.blueprint(RestInput().blueprint(on_new_message), url_prefix="/webhooks/rest")
    return app


@pytest.mark.parametrize("fails_on", ["read", "save"])
def test_rest_answers_503_retryable_for_a_turn_the_store_failed(fails_on):
    _, answer = rest_app(fails_on).test_client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "你好"})
    assert answer.status == 503 and answer.headers["Retry-After"] == "2"
    assert answer.json["error"]["code"] == CODE and answer.json["error"]["retryable"] is True
    assert "您好" not in answer.text  # the answer of a turn that was not saved is never sent


def test_rest_answers_as_before_when_the_store_works():
    _, answer = rest_app("nothing").test_client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "你好"})
    assert answer.status == 200 and [m["text"] for m in answer.json] == ["您好，请问有什么可以帮您？"]


class Sio:
    def __init__(self):
        self.sent = []

    async def emit(self, *args, **kwargs):
        self.sent.append((args, kwargs))


def test_held_emits_go_out_only_when_released():
    sio = Sio()
    held = HeldEmits(sio)
    asyncio.run(held.emit("bot_uttered", {"text": "您好"}, room="s1"))
    assert sio.sent == []
    asyncio.run(held.release())
    assert sio.sent == [(("bot_uttered", {"text": "您好"}), {"room": "s1"})]


def test_a_client_message_id_is_a_uuid_or_absent():
    given = str(uuid.uuid4())
    assert client_message_id({"message_id": given}) == given
    assert client_message_id({"message": "你好"}) is None
    for bad in ("13800138000", 42, ["x"]):
        with pytest.raises(BadMessage):
            client_message_id({"message_id": bad})


def test_a_rest_client_s_message_id_is_kept_for_its_retry_and_checked():
    seen = []

    async def on_new_message(message: UserMessage) -> None:
        seen.append(message.message_id)
        await message.output_channel.send_text_message(message.sender_id, "收到")

    app = Sanic(f"ids{uuid.uuid4().hex}")
    app.blueprint(RestInput().blueprint(on_new_message), url_prefix="/webhooks/rest")
    given = str(uuid.uuid4())
    for _ in range(2):  # the first try and its retry: one id, so the case takes the message once
        _, answer = app.test_client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "你好", "message_id": given})
        assert answer.status == 200
    _, answer = app.test_client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "你好"})
    assert seen[:2] == [given, given] and seen[2] and seen[2] != given  # without one, Rasa makes its own
    _, answer = app.test_client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "你好", "message_id": "13800138000"})
    assert answer.status == 400 and answer.json["error"]["code"] == "bad_field" and len(seen) == 3
