"""A turn's bot message the callback client did not take (kefu_rasa/callback_retry.py): kept in the
store, retried in memory, and swept by any Rasa server when the one that made the turn died. The
client at the far edge is a fake; the store is a real SQLite one."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from rasa.shared.core.events import BotUttered

from assist.store import SuggestionStore
from assist.store.callback_posts import GIVE_UP_AFTER
from assist.store.db import now
from kefu_rasa import callback_retry, channels
from kefu_rasa.callback_retry import CallbackRetry


class Client:
    """The callback client: refuses (times out on) its first `busy` posts, then takes them."""

    def __init__(self, busy=0):
        self.posted, self.busy = [], busy

    async def request(self, method, content_type=None, json=None, timeout=None, **kwargs):
        self.posted.append(json)
        if len(self.posted) <= self.busy:
            raise asyncio.TimeoutError()


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


def holding():
    return BotUttered("您好，已为您转接人工客服，请稍等", timestamp=1700000000.5).message()


def test_a_message_the_client_did_not_take_is_tried_again_and_forgotten_once_taken(store, monkeypatch):
    """A slow client for a moment must not leave the customer silent: the turn goes on at once and
    the message is posted again (same id) until the client takes it; then the store forgets it."""
    monkeypatch.setattr(callback_retry, "RETRY_DELAYS", (0, 0, 0))
    client = Client(busy=2)
    retry = CallbackRetry(client, 2, posts=lambda: store.callback_posts)

    async def turn():
        await channels.CallbackOutput(client, 2, retry).send_response("cb-1", holding())
        assert len(client.posted) == 1  # the turn did not wait for the retries
        assert store.callback_posts.pending(["cb-1"]) == 1  # kept before the turn went on
        await asyncio.gather(*callback_retry._running)

    asyncio.run(turn())
    assert [m["text"] for m in client.posted] == ["您好，已为您转接人工客服，请稍等"] * 3
    assert len({m["id"] for m in client.posted}) == 1
    assert store.callback_posts.pending() == 0


def test_a_message_whose_server_died_mid_retry_is_posted_by_another_servers_sweep_once(store, monkeypatch):
    """The Rasa server that kept the message was killed before its retries got through (its tasks died
    with it). Two other servers sweep at the same time: the client gets the message once, and the row
    goes."""
    monkeypatch.setattr(callback_retry, "RETRY_DELAYS", ())  # the dead server's retries never run
    dead_client = Client(busy=1)
    dead = CallbackRetry(dead_client, 2, posts=lambda: store.callback_posts)
    asyncio.run(channels.CallbackOutput(dead_client, 2, dead).send_response("cb-1", holding()))
    assert store.callback_posts.pending() == 1
    assert store.callback_posts.due() == []  # not before the retries in memory would have ended

    later = now() + callback_retry.SWEEP_AFTER + timedelta(seconds=1)
    client = Client()
    sweepers = [CallbackRetry(client, 2, posts=lambda: store.callback_posts) for _ in range(2)]
    due = store.callback_posts.due(later)
    assert [row["message"]["text"] for row in due] == ["您好，已为您转接人工客服，请稍等"]
    monkeypatch.setattr(store.callback_posts, "due", lambda at=None, limit=50: [dict(row) for row in due])

    async def both():
        return await asyncio.gather(*(s.sweep() for s in sweepers))

    assert sorted(asyncio.run(both())) == [0, 1]
    assert [m["id"] for m in client.posted] == [dead_client.posted[0]["id"]]
    assert store.callback_posts.pending() == 0


def test_a_swept_message_the_client_still_does_not_take_waits_and_is_given_up_after_an_hour(store):
    posts = store.callback_posts
    kept = posts.keep("cb-1", holding(), now(), "TimeoutError()")
    client = Client(busy=10)
    sweeper = CallbackRetry(client, 2, posts=lambda: posts)

    assert asyncio.run(sweeper.sweep()) == 0
    assert len(client.posted) == 1
    assert posts.pending() == 1 and posts.due() == []  # due again after SWEEP_AGAIN, not at once

    row = dict(posts.due(now() + callback_retry.SWEEP_AGAIN + timedelta(seconds=1))[0])
    assert row["id"] == kept and row["attempts"] == 2 and "TimeoutError" in row["last_error"]
    row["created_at"] = now() - GIVE_UP_AFTER
    assert posts.start_attempt(row, timedelta(seconds=7))
    row["attempts"] += 1
    assert posts.not_taken(row, callback_retry.SWEEP_AGAIN, "TimeoutError()") is False
    assert posts.pending() == 0  # given up: kept as failed for a while, never posted again


def test_when_the_store_is_down_the_message_is_still_retried_in_memory(monkeypatch):
    monkeypatch.setattr(callback_retry, "RETRY_DELAYS", (0,))

    def down():
        raise ConnectionError("the store is down")

    client = Client(busy=1)
    retry = CallbackRetry(client, 2, posts=down)

    async def turn():
        await channels.CallbackOutput(client, 2, retry).send_response("cb-1", holding())
        await asyncio.gather(*callback_retry._running)
        return await retry.sweep()  # the store is down: the sweep reads nothing, raises nothing

    assert asyncio.run(turn()) == 0
    assert len(client.posted) == 2 and client.posted[0]["id"] == client.posted[1]["id"]


def test_the_retries_in_memory_end_before_the_sweep_takes_over():
    assert callback_retry.delays_within(timedelta(seconds=75)) == (1, 2, 4, 8, 15, 30)
    assert callback_retry.delays_within(timedelta(seconds=6)) == (1, 2)
    assert callback_retry.delays_within(timedelta(seconds=1)) == ()


def test_no_post_in_memory_starts_once_the_sweep_may_take_the_message(store, monkeypatch):
    """A slow client makes each try last up to the timeout: the retries in memory stop before the kept
    row is due, so the sweep and this server never post the message at the same time."""
    monkeypatch.setattr(callback_retry, "RETRY_DELAYS", (0, 0, 0))
    client = Client(busy=10)
    window = timedelta(seconds=4)  # 4 s − the 2 s timeout − 2 s spare: no time left for a retry in memory
    retry = CallbackRetry(client, 2, posts=lambda: store.callback_posts, sweep_after=window)

    async def turn():
        await channels.CallbackOutput(client, 2, retry).send_response("cb-1", holding())
        return await asyncio.gather(*callback_retry._running)

    assert asyncio.run(turn()) == [False]
    assert len(client.posted) == 1 and store.callback_posts.pending() == 1  # the sweep's, from now + 4 s
