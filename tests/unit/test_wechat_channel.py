"""The WeChat channel (kefu_rasa/wechat.py) in a Sanic app of its own, with a scripted bot in place of
Rasa's agent and the local fake of WeChat's API at the far edge: the passive reply and what follows
it, the window closing before the bot answers, WeChat's retries handled once (also by another
instance), the domain's texts for subscribe, pictures and voice, and the pushes after the turn."""
from __future__ import annotations

import asyncio
import base64
import os
import uuid
from contextlib import asynccontextmanager
from types import SimpleNamespace

import aiohttp
import pytest
import sqlalchemy as sa
import xmltodict
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered
from rasa.shared.exceptions import RasaException
from sanic import Sanic

from assist.integrations.rasa import REFUSED_MARK
from assist.settings import load_settings
from assist.store import SuggestionStore
from kefu_rasa.dev.servers import free_port
from kefu_rasa.dev.wechat_api_fake import FakeWeChatApi
from kefu_rasa.dev.wechat_server import WeChatServer
from kefu_rasa.wechat import WeChatInput
from kefu_rasa.wechat_output import PushFailed, PushRefused, WeChatPushOutput

APP_ID, SECRET, TOKEN = "wx0123456789abcdef", "s3cret-of-the-account", "kefu-token"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")
DOMAIN = Domain.from_dict({"responses": {
    "utter_wechat_subscribe": [{"text": "感谢您的关注～"}],
    "utter_wechat_image": [{"text": "抱歉，这里暂时还看不了图片哦。"}],
    "utter_wechat_voice": [{"text": "抱歉，这里暂时还听不了语音哦。"}],
}})


@pytest.fixture(scope="module")
def fake_api():
    api = FakeWeChatApi(APP_ID, SECRET)
    yield api
    api.close()


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


class ScriptedBot:
    """Rasa's agent as the channel meets it: `handle(message)` says `replies` through the message's
    output channel, after `go` is set (so a test decides when the bot answers)."""

    def __init__(self, replies, wait=False):
        self.replies, self.seen = list(replies), []
        self.go = asyncio.Event()
        if not wait:
            self.go.set()

    async def handle(self, message):
        self.seen.append((message.sender_id, message.text, message.message_id, message.input_channel))
        await self.go.wait()
        for text in self.replies:
            await message.output_channel.send_response(message.sender_id, {"text": text})


def channel_app(store, fake_api, bot, reply_seconds=4.0):
    settings = load_settings(wechat_app_id=APP_ID, wechat_app_secret=SECRET, wechat_token=TOKEN, wechat_aes_key=AES_KEY,
                             wechat_api_url=fake_api.url, wechat_reply_seconds=reply_seconds)
    channel = WeChatInput(settings, records=store.wechat)
    app = Sanic(f"wechat_{uuid.uuid4().hex[:8]}")
    app.ctx.agent = SimpleNamespace(domain=DOMAIN, nlg=TemplatedNaturalLanguageGenerator(DOMAIN.responses))
    app.blueprint(channel.blueprint(bot.handle), url_prefix="/webhooks/wechat")
    return app


@asynccontextmanager
async def serving(app):
    """The app on a real Sanic server on loopback (as Rasa serves its channels), and an HTTP client."""
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()  # create_server has the socket listening already
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.close()
        await server.wait_closed()


wechat = WeChatServer("/webhooks/wechat/webhook", TOKEN, APP_ID, AES_KEY)


class Answer:
    def __init__(self, status, text):
        self.status, self.text = status, text


async def post(client, push, params=None, body=None):
    async with client.post(wechat.url, params=params or push.params, data=(body or push.xml).encode()) as answer:
        return Answer(answer.status, await answer.text())


async def get(client, params):
    async with client.get(wechat.url, params=params) as answer:
        return Answer(answer.status, await answer.text())


def reply_of(answer, push):
    if answer.status != 200 or answer.text == "success":
        return None
    body = answer.text
    if push.params.get("encrypt_type") == "aes":
        fields = xmltodict.parse(body)["xml"]
        body = wechat.crypto.decrypt_message(body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
    return xmltodict.parse(body)["xml"]["Content"]


async def test_the_first_bot_message_is_the_passive_reply_and_the_rest_follow_through_the_api(store, fake_api):
    bot = ScriptedBot(["您好，请问有什么可以帮您？", "查订单请发订单号哦～"])
    push = wechat.text("oTurn1", "/restart 你好", safe=True)
    async with serving(channel_app(store, fake_api, bot)) as client:
        answer = await post(client, push)
        assert answer.status == 200 and reply_of(answer, push) == "您好，请问有什么可以帮您？"
        assert await asyncio.to_thread(fake_api.wait_for, "oTurn1", 1) == ["查订单请发订单号哦～"]
    assert bot.seen == [("oTurn1", "／restart 你好", f"wx-{push.msg_id}", "wechat")]  # no Rasa command from a customer


async def test_a_bot_slower_than_the_window_answers_through_the_api(store, fake_api):
    bot = ScriptedBot(["让您久等了，订单已经帮您查到了。"], wait=True)
    async with serving(channel_app(store, fake_api, bot, reply_seconds=0.2)) as client:
        answer = await post(client, wechat.text("oSlow1", "我的订单到哪了"))
        assert (answer.status, answer.text) == (200, "success") and fake_api.texts("oSlow1") == []  # the bot had not answered
        bot.go.set()
        assert await asyncio.to_thread(fake_api.wait_for, "oSlow1", 1) == ["让您久等了，订单已经帮您查到了。"]


async def test_wechats_retries_reach_the_bot_once_and_get_the_same_answer(store, fake_api):
    bot = ScriptedBot(["您好，在的～"], wait=True)
    push = wechat.text("oRetry1", "在吗")
    async with serving(channel_app(store, fake_api, bot)) as client:
        first = asyncio.ensure_future(post(client, push))
        while not bot.seen:
            await asyncio.sleep(0.01)
        retries = [asyncio.ensure_future(post(client, push)) for _ in range(2)]  # WeChat's retries while the first is at it
        await asyncio.sleep(0.2)
        bot.go.set()
        answers = await asyncio.gather(first, *retries)
        assert [reply_of(a, push) for a in answers] == ["您好，在的～"] * 3
    async with serving(channel_app(SuggestionStore(store.url), fake_api, bot)) as other_instance:
        late = await post(other_instance, push)  # a retry that reached another Rasa instance
    assert late.text == "success"
    assert len(bot.seen) == 1 and fake_api.texts("oRetry1") == []


class SlowRecords:
    """The store's WeChat records, slow to take a key (a loaded database)."""

    def __init__(self, records, seconds):
        self.records, self.seconds = records, seconds

    def first_time(self, key):
        import time

        time.sleep(self.seconds)
        return self.records.first_time(key)

    def __getattr__(self, name):
        return getattr(self.records, name)


async def hang_up(client, push, seconds):
    """WeChat gives up on an answer after its 5 s and closes the connection (here sooner)."""
    with pytest.raises(asyncio.TimeoutError):
        async with client.post(wechat.url, params=push.params, data=push.xml.encode(),
                               timeout=aiohttp.ClientTimeout(total=seconds)) as answer:
            await answer.text()


async def test_wechat_hanging_up_loses_nothing_the_message_reaches_the_bot_and_its_reply_the_api(store, fake_api):
    """Sanic cancels the handler when WeChat hangs up: a message whose key was being recorded still reaches
    the bot (WeChat's retry finds it taken), and a reply that comes after the hang-up goes through the API."""
    bot = ScriptedBot(["您好，在的～"])
    settings = load_settings(wechat_app_id=APP_ID, wechat_app_secret=SECRET, wechat_token=TOKEN, wechat_aes_key=AES_KEY,
                             wechat_api_url=fake_api.url)
    channel = WeChatInput(settings, records=SlowRecords(store.wechat, 0.6))
    app = Sanic(f"wechat_{uuid.uuid4().hex[:8]}")
    app.ctx.agent = SimpleNamespace(domain=DOMAIN, nlg=TemplatedNaturalLanguageGenerator(DOMAIN.responses))
    app.blueprint(channel.blueprint(bot.handle), url_prefix="/webhooks/wechat")
    push = wechat.text("oHangUp1", "在吗", safe=True)
    async with serving(app) as client:
        await hang_up(client, push, 0.2)  # while the store is still taking the key
        assert await asyncio.to_thread(fake_api.wait_for, "oHangUp1", 1) == ["您好，在的～"]
        retried = await post(client, push)
        assert retried.status == 200 and reply_of(retried, push) in (None, "您好，在的～")
    assert bot.seen == [("oHangUp1", "在吗", f"wx-{push.msg_id}", "wechat")]

    slow = ScriptedBot(["让您久等了～"], wait=True)
    push = wechat.text("oHangUp2", "在吗")
    async with serving(channel_app(store, fake_api, slow)) as client:
        await hang_up(client, push, 0.3)  # while the bot is still thinking, inside the reply window
        await asyncio.sleep(0.1)
        slow.go.set()
        assert await asyncio.to_thread(fake_api.wait_for, "oHangUp2", 1) == ["让您久等了～"]
    assert len(slow.seen) == 1


async def test_following_pictures_and_voice_get_the_domains_texts_and_other_events_nothing(store, fake_api):
    bot = ScriptedBot([])
    followed = wechat.event("oFollow1", "subscribe", safe=True)
    picture, voice = wechat.image("oFollow1"), wechat.voice("oFollow1")
    async with serving(channel_app(store, fake_api, bot)) as client:
        assert reply_of(await post(client, followed), followed) == "感谢您的关注～"
        assert reply_of(await post(client, picture), picture) == "抱歉，这里暂时还看不了图片哦。"
        assert reply_of(await post(client, voice), voice) == "抱歉，这里暂时还听不了语音哦。"
        for event in ("unsubscribe", "CLICK", "LOCATION"):
            assert (await post(client, wechat.event("oFollow1", event))).text == "success"
    async with serving(channel_app(store, fake_api, bot)) as other_instance:
        assert (await post(other_instance, followed)).text == "success"  # WeChat's retry of the event: greeted once
    assert bot.seen == [] and fake_api.texts("oFollow1") == []


async def test_a_forged_or_broken_push_records_nothing_and_the_real_one_still_counts(store, fake_api):
    bot = ScriptedBot(["您好～"])
    push = wechat.text("oForged1", "你好")
    broken = wechat.wrap(push.xml[:60], "oForged1")  # cut off, signed
    async with serving(channel_app(store, fake_api, bot)) as client:
        refused = await post(client, push, params=dict(push.params, signature="0" * 40))
        malformed = await post(client, broken)
        assert (refused.status, malformed.status) == (403, 400)
        with store.engine.connect() as db:
            assert db.execute(sa.text("SELECT count(*) FROM kefu_wechat_messages")).scalar() == 0
        assert bot.seen == []
        assert reply_of(await post(client, push), push) == "您好～" and len(bot.seen) == 1


async def test_the_url_check(store, fake_api):
    async with serving(channel_app(store, fake_api, ScriptedBot([]))) as client:
        for token, status, body in ((TOKEN, 200, "echo-7"), ("another-token", 403, "signature mismatch")):
            answer = await get(client, wechat.url_check("echo-7", token=token))
            assert (answer.status, answer.text) == (status, body)


async def test_a_store_outage_answers_503_so_wechat_tries_again(store, fake_api):
    bot = ScriptedBot(["您好～"])
    with store.engine.begin() as db:
        db.execute(sa.text("DROP TABLE kefu_wechat_messages"))
    async with serving(channel_app(store, fake_api, bot)) as client:
        answer = await post(client, wechat.text("oDown1", "你好"))
    assert answer.status == 503 and bot.seen == []


async def test_a_push_is_sent_once_per_delivery_id_and_a_refusal_says_whether_it_is_for_good(store, fake_api):
    channel = WeChatInput(load_settings(wechat_app_id=APP_ID, wechat_app_secret=SECRET, wechat_token=TOKEN,
                                        wechat_api_url=fake_api.url), records=store.wechat)
    output = channel.get_output_channel()
    assert isinstance(output, WeChatPushOutput) and output.name() == "wechat"

    def pushed(text, key):
        return BotUttered(text, metadata={"kefu_delivery": key, "kefu_sender": "agent"}, timestamp=1.0).message()

    await output.send_response("oPush1", pushed("我是客服小王，已经帮您催了", "d41"))
    await output.send_response("oPush1", pushed("我是客服小王，已经帮您催了", "d41"))  # the outbox's retry
    assert fake_api.texts("oPush1") == ["我是客服小王，已经帮您催了"]
    fake_api.outside_window.add("oPush2")
    with pytest.raises(PushRefused) as refused:
        await output.send_response("oPush2", pushed("您好", "d42"))
    assert str(refused.value).startswith(REFUSED_MARK) and "45015" in str(refused.value)
    fake_api.busy = 1
    with pytest.raises(PushFailed):
        await output.send_response("oPush3", pushed("您好", "d43"))
    await output.send_response("oPush3", pushed("您好", "d43"))
    assert fake_api.texts("oPush3") == ["您好"]


def test_the_channel_wants_its_settings_from_the_environment_not_credentials(monkeypatch):
    with pytest.raises(RasaException, match="takes no credentials.yml keys"):
        WeChatInput.from_credentials({"app_secret": "x"})
    monkeypatch.delenv("KEFU_WECHAT_APP_ID", raising=False)
    monkeypatch.setenv("KEFU_WECHAT_TOKEN", TOKEN)
    with pytest.raises(RasaException, match="KEFU_WECHAT_APP_ID, KEFU_WECHAT_APP_SECRET"):
        WeChatInput.from_credentials(None)
