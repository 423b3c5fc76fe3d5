"""The WeChat channel's parts without Rasa: the envelope (signatures, safe mode, the passive reply),
the access token (refreshed before expiry, one refresh at a time, shared by instances), the API client
against the local fake of WeChat's API (its real error codes), and the store's once-only keys."""
from __future__ import annotations

import base64
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import xmltodict

from assist.integrations.wechat_api import TokenCache, WeChatApi, WeChatRefused
from assist.integrations.wechat_messages import (IGNORED, IMAGE, SUBSCRIBE, TEXT, VOICE, BadSignature, Envelope, Malformed,
                                                 SafeModeOff, handshake)
from assist.store import SuggestionStore
from kefu_rasa.dev.wechat_api_fake import FakeWeChatApi
from kefu_rasa.dev.wechat_server import WeChatServer, sign

APP_ID, SECRET, TOKEN = "wx0123456789abcdef", "s3cret-of-the-account", "kefu-token"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")


@pytest.fixture
def wechat():
    """WeChat's side, writing pushes (the URL is not used: the tests hand the pushes to the envelope)."""
    return WeChatServer("http://unused", TOKEN, APP_ID, AES_KEY)


@pytest.fixture
def envelope():
    return Envelope(TOKEN, AES_KEY, APP_ID)


@pytest.fixture(scope="module")
def fake_api():
    api = FakeWeChatApi(APP_ID, SECRET)
    yield api
    api.close()


@pytest.fixture
def store(tmp_path):
    return SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")


# ---- the envelope -----------------------------------------------------------------------------------
def test_a_plain_text_message_is_read_with_its_once_only_key(wechat, envelope):
    push = wechat.text("oCustomer1", "你好，在吗", msg_id="6912345678901234567")
    incoming = envelope.open(push.xml.encode(), push.params)
    assert (incoming.kind, incoming.key, incoming.openid, incoming.account, incoming.text, incoming.msg_id) == (
        TEXT, "m:6912345678901234567", "oCustomer1", "gh_kefu0test0", "你好，在吗", "6912345678901234567")


def test_a_safe_mode_message_is_decrypted_and_its_reply_encrypted(wechat, envelope):
    push = wechat.text("oCustomer1", "我的快递到哪了", safe=True)
    assert "我的快递" not in push.xml and push.params["encrypt_type"] == "aes"
    incoming = envelope.open(push.xml.encode(), push.params)
    assert incoming.text == "我的快递到哪了"
    reply = envelope.reply(incoming, "您好，请稍等]]>", push.params)
    assert "您好" not in reply  # encrypted
    fields = xmltodict.parse(wechat.crypto.decrypt_message(reply, *[xmltodict.parse(reply)["xml"][k] for k in ("MsgSignature", "TimeStamp", "Nonce")]))["xml"]
    assert (fields["ToUserName"], fields["FromUserName"], fields["MsgType"], fields["Content"]) == (
        "oCustomer1", "gh_kefu0test0", "text", "您好，请稍等]]>")


def test_events_and_media_are_told_apart(wechat, envelope):
    def kind(push):
        return envelope.open(push.xml.encode(), push.params).kind

    assert kind(wechat.event("o1", "subscribe")) == SUBSCRIBE
    assert kind(wechat.event("o1", "subscribe", key="qrscene_123")) == SUBSCRIBE  # followed through a QR code
    assert [kind(wechat.event("o1", e)) for e in ("unsubscribe", "CLICK", "LOCATION")] == [IGNORED] * 3
    assert (kind(wechat.image("o1")), kind(wechat.voice("o1", safe=True))) == (IMAGE, VOICE)
    subscribed = envelope.open(*(lambda p: (p.xml.encode(), p.params))(wechat.event("o1", "subscribe", created=1700000000)))
    assert subscribed.key == "e:o1:1700000000:subscribe"


def test_a_wrong_signature_or_a_foreign_account_is_refused(wechat, envelope):
    push = wechat.text("o1", "你好")
    with pytest.raises(BadSignature):
        envelope.open(push.xml.encode(), dict(push.params, signature="0" * 40))
    with pytest.raises(BadSignature):
        envelope.open(push.xml.encode(), {k: v for k, v in push.params.items() if k != "signature"})
    safe = wechat.text("o1", "你好", safe=True)
    with pytest.raises(BadSignature):
        envelope.open(safe.xml.encode(), dict(safe.params, msg_signature="0" * 40))
    other_account = Envelope(TOKEN, AES_KEY, "wxanotheraccount00")
    with pytest.raises(BadSignature):
        other_account.open(safe.xml.encode(), safe.params)
    with pytest.raises(SafeModeOff):
        Envelope(TOKEN, "", APP_ID).open(safe.xml.encode(), safe.params)


@pytest.mark.parametrize("body", [
    "<xml><ToUserName>gh</ToUserName><FromUserName>o1",                      # cut off
    "not xml at all",
    "",
    "<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>",         # no sender
    "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>x</Content></xml>",                     # a text without MsgId
    '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><FromUserName>&e;</FromUserName></xml>',
])
def test_a_signed_body_that_is_no_wechat_message_is_malformed(wechat, envelope, body):
    push = wechat.wrap(body, "o1")
    with pytest.raises(Malformed):
        envelope.open(body.encode(), push.params)


def test_a_cipher_text_that_does_not_decrypt_is_malformed(wechat, envelope):
    safe = wechat.text("o1", "你好", safe=True)
    broken = safe.xml.replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA")
    params = dict(safe.params, msg_signature=sign(TOKEN, safe.params["timestamp"], safe.params["nonce"],
                                                  xmltodict.parse(broken)["xml"]["Encrypt"]))
    with pytest.raises(Malformed):
        envelope.open(broken.encode(), params)


def test_the_url_check_echoes_only_for_the_right_token(wechat, envelope):
    ts, nonce = "1700000000", "abc"
    assert handshake(envelope, {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "e42"}) == "e42"
    assert handshake(envelope, {"signature": sign("other", ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "e42"}) is None


# ---- the access token -------------------------------------------------------------------------------
class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


def test_the_token_is_kept_then_refreshed_before_it_expires():
    clock, fetched = Clock(), []

    def fetch():
        fetched.append(clock.now)
        return f"t{len(fetched)}", 7200

    tokens = TokenCache(APP_ID, fetch, clock=clock, margin=timedelta(minutes=5))
    assert tokens.get() == "t1"
    clock.now += timedelta(seconds=7200 - 301)
    assert tokens.get() == "t1"  # still more than 5 minutes to live
    clock.now += timedelta(seconds=2)
    assert tokens.get() == "t2"  # refreshed before it expires, not after a failure
    tokens.invalidate("t1")      # an old token WeChat refused: the new one stays
    assert tokens.get() == "t2"
    tokens.invalidate("t2")
    assert tokens.get() == "t3" and len(fetched) == 3


def test_one_refresh_at_a_time_while_the_others_wait_for_its_token():
    fetched = []

    def slow_fetch():
        fetched.append(1)
        time.sleep(0.3)
        return "only-one", 7200

    tokens = TokenCache(APP_ID, slow_fetch)
    got = []
    threads = [threading.Thread(target=lambda: got.append(tokens.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == ["only-one"] * 8 and len(fetched) == 1


def test_instances_share_one_token_through_the_store(store, tmp_path):
    other = SuggestionStore(store.url)  # another Rasa instance on the same database
    fetched = []

    def fetch():
        fetched.append(1)
        return f"shared-{len(fetched)}", 7200

    first, second = TokenCache(APP_ID, fetch, shared=store.wechat), TokenCache(APP_ID, fetch, shared=other.wechat)
    assert first.get() == second.get() == "shared-1" and len(fetched) == 1
    second.invalidate("shared-1")  # WeChat refused it to the second instance: both move on, one fetch
    assert second.get() == "shared-2"
    first._current = None  # the first instance's cache ran out: it finds the new token in the store
    assert first.get() == "shared-2" and len(fetched) == 2


def test_while_another_instance_refreshes_the_token_this_one_waits_for_it(store):
    assert store.wechat.take_token_refresh(APP_ID, timedelta(seconds=10))  # the other instance is at it

    def finish_elsewhere():
        time.sleep(0.3)
        store.wechat.save_token(APP_ID, "theirs", datetime.now(timezone.utc) + timedelta(hours=2))

    threading.Thread(target=finish_elsewhere).start()
    tokens = TokenCache(APP_ID, lambda: pytest.fail("fetched a second token"), shared=store.wechat)
    assert tokens.get() == "theirs"


# ---- the API client against WeChat's API (the local fake) --------------------------------------------
def test_a_text_is_sent_with_a_token_fetched_once(fake_api):
    api = WeChatApi(APP_ID, SECRET, fake_api.url, timeout=3)
    fetches = fake_api.token_fetches
    api.send_text("oSend1", "您好，我是客服小王")
    api.send_text("oSend1", "订单已经帮您催了")
    assert fake_api.texts("oSend1") == ["您好，我是客服小王", "订单已经帮您催了"]
    assert fake_api.token_fetches == fetches + 1


def test_an_expired_token_is_refreshed_and_the_text_sent_once(fake_api):
    api = WeChatApi(APP_ID, SECRET, fake_api.url, timeout=3)
    api.send_text("oExpire1", "第一条")
    fake_api.expire_tokens()
    api.send_text("oExpire1", "第二条")
    assert [c["errcode"] for c in fake_api.calls_for("oExpire1")] == [0, 40001, 0]
    assert fake_api.texts("oExpire1") == ["第一条", "第二条"]


def test_the_48_hour_rule_is_permanent_and_a_busy_wechat_transient(fake_api):
    api = WeChatApi(APP_ID, SECRET, fake_api.url, timeout=3, sleep=lambda s: None)
    fake_api.outside_window.add("oQuiet1")
    with pytest.raises(WeChatRefused) as refused:
        api.send_text("oQuiet1", "您好", tries=3)
    assert refused.value.permanent and refused.value.code == 45015 and "48小时" in str(refused.value)
    assert len(fake_api.calls_for("oQuiet1")) == 1  # never tried again
    fake_api.busy = 1
    with pytest.raises(WeChatRefused) as busy:
        api.send_text("oBusy1", "您好")
    assert not busy.value.permanent and busy.value.code == -1
    fake_api.busy = 2
    api.send_text("oBusy2", "您好", tries=3)  # inside a turn: quick tries
    assert [c["errcode"] for c in fake_api.calls_for("oBusy2")] == [-1, -1, 0]


def test_an_unverified_account_is_refused_for_good_with_the_reason(fake_api):
    api = WeChatApi(APP_ID, SECRET, fake_api.url, timeout=3, sleep=lambda s: None)
    fake_api.unverified = True
    try:
        with pytest.raises(WeChatRefused) as refused:
            api.send_text("oUnverified1", "您好", tries=3)
    finally:
        fake_api.unverified = False
    assert refused.value.permanent and refused.value.code == 48001 and "认证" in str(refused.value)
    assert [c["errcode"] for c in fake_api.calls_for("oUnverified1")] == [48001]


def test_a_wrong_secret_or_an_unreachable_api_is_transient_and_names_no_token(fake_api):
    with pytest.raises(WeChatRefused) as wrong:
        WeChatApi(APP_ID, "not-the-secret", fake_api.url, timeout=3).send_text("o1", "您好")
    assert not wrong.value.permanent and "40125" in str(wrong.value)
    api = WeChatApi(APP_ID, SECRET, fake_api.url, timeout=3)
    api.tokens.get()
    api.client.API_BASE_URL = "http://127.0.0.1:9/cgi-bin/"  # nothing listens there
    with pytest.raises(WeChatRefused) as down:
        api.send_text("o1", "您好")
    assert not down.value.permanent and "access_token=***" in str(down.value) and "tok-" not in str(down.value)


# ---- once-only keys in the store ------------------------------------------------------------------------
def test_a_key_is_taken_once_across_instances_and_old_keys_are_purged(store):
    other = SuggestionStore(store.url)
    assert store.wechat.first_time("m:1") and not other.wechat.first_time("m:1")
    assert other.wechat.seen("m:1") and not other.wechat.seen("m:2")
    other.wechat.record("out:d1")
    other.wechat.record("out:d1")  # recorded already is fine
    assert store.wechat.seen("out:d1")
    with store.engine.begin() as db:
        db.exec_driver_sql("UPDATE kefu_wechat_messages SET at = '2000-01-01 00:00:00' WHERE key = 'm:1'")
    fresh = SuggestionStore(store.url)
    assert fresh.wechat.first_time("m:3") and not fresh.wechat.seen("m:1")
