"""A WeChat Official Account in front of the real Rasa, action server and console (the `stack`
fixture names kefu_rasa.wechat.WeChatInput in credentials.yml). WeChat's server is simulated the way
it calls an account's server URL: signed XML, encrypted in safe mode with wechatpy's crypto, POSTed
to Rasa's webhook. WeChat's API is a local fake (kefu_rasa/dev/wechat_api_fake.py) answering with
WeChat's own error codes and recording what the channel sends."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from assist.store import SuggestionStore
from kefu_rasa.dev.servers import wait_until as kefu_wait_until
from kefu_rasa.dev.wechat_server import WeChatServer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
RESPONSES = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
COMPLAINT = "你们这什么破快递，一个礼拜了还不到！订单1234567890"


def texts(name):
    return [variant["text"] for variant in RESPONSES[name]]


@pytest.fixture(scope="module")
def wechat(stack):
    from tests.conftest import WECHAT

    return WeChatServer(f"{stack.rasa_url}/webhooks/wechat/webhook", WECHAT["KEFU_WECHAT_TOKEN"],
                        WECHAT["KEFU_WECHAT_APP_ID"], WECHAT["KEFU_WECHAT_AES_KEY"])


def customer() -> str:
    return f"oKefu{uuid.uuid4().hex[:20]}"  # an OpenID: 28 characters, unique per account


def wait_until(predicate, timeout=30):
    value = kefu_wait_until(predicate, timeout=timeout, interval=0.2)
    assert value, "condition not met in time"
    return value


def console(stack, token, method, path, payload=None):
    return requests.request(method, f"{stack.console_url}{path}", json=payload,
                            headers={"Authorization": f"Bearer {token}"}, timeout=20)


def case_of(stack, token, openid):
    cases = console(stack, token, "get", "/api/cases?state=open").json()["cases"]
    match = [c for c in cases if c["conversation_id"] == openid]
    return console(stack, token, "get", f"/api/cases/{match[0]['id']}").json() if match else None


def user_texts(stack, openid):
    tracker = requests.get(f"{stack.rasa_url}/conversations/{openid}/tracker", headers=stack.rasa_auth(), timeout=10).json()
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]


def handed_over(stack, token, wechat, wechat_api, openid):
    """A complaint over WeChat: the holding message reaches the customer once (as the passive reply when
    Rasa's turn fits in the window), and the case is in the console with its drafts."""
    push = wechat.text(openid, COMPLAINT, safe=True)
    answer = wechat.post(push)
    assert answer.status_code == 200, answer.text
    # The drafts come inside Rasa's turn, the holding message into the case's transcript after it (the follower).
    case = wait_until(lambda: (c := case_of(stack, token, openid)) and c["drafts"]
                      and any(m["sender"] == "bot" for m in c["messages"]) and c)
    holding = [m["text"] for m in case["messages"] if m["sender"] == "bot"]
    passive = wechat.reply(answer, push)
    assert (passive or {}).get("Content", holding[0]) == holding[0]
    got = [passive["Content"]] if passive else wechat_api.wait_for(openid, 1)
    assert got == holding[:1] and case["channel"] == "wechat"
    return case


def approve(stack, token, case, resolve=False):
    draft = case["drafts"][0]
    answer = console(stack, token, "post", f"/api/cases/{case['id']}/approve",
                     {"draft_id": draft["id"], "batch": case["batch"], "resolve": resolve})
    assert answer.status_code == 201, answer.text
    return draft["text"]


def delivery(stack, token, case, text, state):
    def settled():
        detail = console(stack, token, "get", f"/api/cases/{case['id']}").json()
        found = [d for d in detail["deliveries"] if d["text"] == text and d["state"] == state]
        return found[0] if found else None

    return wait_until(settled)


def test_the_url_check(wechat):
    assert (wechat.verify_url("kefu-echo-42").status_code, wechat.verify_url("kefu-echo-42").text) == (200, "kefu-echo-42")
    assert wechat.verify_url("kefu-echo-42", token="not-the-token").status_code == 403


def test_a_greeting_is_answered_passively_in_plain_and_safe_mode(stack, wechat):
    for safe in (False, True):
        openid = customer()
        push = wechat.text(openid, "你好", safe=safe)
        answer = wechat.post(push)
        reply = wechat.reply(answer, push)
        assert answer.status_code == 200 and reply is not None, answer.text
        assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"]) == (openid, wechat.account, "text")
        assert reply["Content"] in texts("utter_greet")
        assert (push.params.get("encrypt_type") == "aes") == ("<Encrypt>" in answer.text)
        assert user_texts(stack, openid) == ["你好"]


def test_following_pictures_and_voice_are_answered_honestly_and_other_events_ignored(stack, wechat, wechat_api):
    openid = customer()
    followed = wechat.event(openid, "subscribe", safe=True)
    assert wechat.reply(wechat.post(followed), followed)["Content"] in texts("utter_wechat_subscribe")
    picture, voice = wechat.image(openid), wechat.voice(openid, safe=True)
    assert wechat.reply(wechat.post(picture), picture)["Content"] in texts("utter_wechat_image")
    assert wechat.reply(wechat.post(voice), voice)["Content"] in texts("utter_wechat_voice")
    for event in ("unsubscribe", "CLICK"):
        answer = wechat.post(wechat.event(openid, event))
        assert (answer.status_code, answer.text) == (200, "success")
    assert user_texts(stack, openid) == [] and wechat_api.texts(openid) == []


def test_a_wrong_signature_is_refused_and_nothing_stored(stack, wechat):
    openid = customer()
    push = wechat.text(openid, "你好")
    push.params["signature"] = "0" * 40
    assert wechat.post(push).status_code == 403
    assert user_texts(stack, openid) == []
    assert not SuggestionStore(stack.store_url).wechat.seen(f"m:{push.msg_id}")


def test_malformed_xml_is_answered_400_and_the_message_is_not_lost(stack, wechat):
    openid = customer()
    push = wechat.text(openid, "你好")
    broken = wechat.wrap(push.xml[: len(push.xml) // 2], openid)
    assert wechat.post(broken).status_code == 400
    assert user_texts(stack, openid) == []
    answer = wechat.post(push)  # the same message, whole: not taken for a duplicate
    assert wechat.reply(answer, push)["Content"] in texts("utter_greet")
    assert user_texts(stack, openid) == ["你好"]


def test_wechats_retries_of_one_msgid_reach_rasa_once(stack, wechat):
    openid = customer()
    push = wechat.text(openid, "你好", safe=True)
    with ThreadPoolExecutor(3) as pool:  # WeChat's retries, the first still being answered
        answers = list(pool.map(lambda _: wechat.post(push), range(3)))
    later = wechat.post(push)
    assert [a.status_code for a in answers + [later]] == [200] * 4
    replies = [wechat.reply(a, push) for a in answers + [later]]
    assert all(r is None or r["Content"] in texts("utter_greet") for r in replies) and any(replies)
    assert user_texts(stack, openid) == ["你好"]


def test_a_complaint_reaches_an_agent_whose_reply_is_sent_once_through_the_api(stack, agent_token, wechat, wechat_api):
    openid = customer()
    case = handed_over(stack, agent_token, wechat, wechat_api, openid)
    before = len(wechat_api.texts(openid))
    text = approve(stack, agent_token, case, resolve=True)
    assert wechat_api.wait_for(openid, before + 1)[before:] == [text]
    delivery(stack, agent_token, case, text, "delivered")
    assert [c["text"] for c in wechat_api.calls_for(openid)].count(text) == 1
    # Resolved: the bot answers this customer again.
    push = wechat.text(openid, "你好")
    assert wechat.reply(wechat.post(push), push)["Content"] in texts("utter_greet")


def test_an_expired_token_is_refreshed_then_the_reply_sent(stack, agent_token, wechat, wechat_api):
    openid = customer()
    case = handed_over(stack, agent_token, wechat, wechat_api, openid)
    fetches = wechat_api.token_fetches
    wechat_api.expire_tokens()
    text = approve(stack, agent_token, case)
    assert wechat_api.wait_for(openid, len(wechat_api.texts(openid)) + 1)[-1] == text
    assert [c["errcode"] for c in wechat_api.calls_for(openid) if c["text"] == text] == [40001, 0]
    assert wechat_api.token_fetches == fetches + 1
    assert delivery(stack, agent_token, case, text, "delivered")["attempts"] == 1


def test_a_busy_wechat_is_retried_until_the_reply_is_sent(stack, agent_token, wechat, wechat_api):
    openid = customer()
    case = handed_over(stack, agent_token, wechat, wechat_api, openid)
    wechat_api.busy = 1
    text = approve(stack, agent_token, case)
    assert delivery(stack, agent_token, case, text, "delivered")["attempts"] == 2
    assert [c["errcode"] for c in wechat_api.calls_for(openid) if c["text"] == text] == [-1, 0]
    assert wechat_api.texts(openid).count(text) == 1


def test_the_48_hour_rule_shows_the_reply_failed_with_the_reason_never_retried(stack, agent_token, wechat, wechat_api):
    openid = customer()
    case = handed_over(stack, agent_token, wechat, wechat_api, openid)
    wechat_api.outside_window.add(openid)  # the customer has not written for 48 hours
    text = approve(stack, agent_token, case, resolve=True)
    failed = delivery(stack, agent_token, case, text, "failed")
    assert failed["attempts"] == 1 and "45015" in failed["last_error"] and "48小时" in failed["last_error"]
    assert [c["errcode"] for c in wechat_api.calls_for(openid) if c["text"] == text] == [45015]
    # The decision resolved the case: the bot is back for this customer's next message, which opens the window.
    wechat_api.outside_window.discard(openid)
    push = wechat.text(openid, "你好")
    assert wechat.reply(wechat.post(push), push)["Content"] in texts("utter_greet")
    assert [c["errcode"] for c in wechat_api.calls_for(openid) if c["text"] == text] == [45015]  # never tried again


def test_a_picture_sent_while_a_person_has_the_case_joins_it_as_a_photo_without_exif(stack, agent_token, wechat, wechat_api):
    import io

    from PIL import Image

    openid = customer()
    case = handed_over(stack, agent_token, wechat, wechat_api, openid)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (22.0, 32.0, 10.0), 3: "E", 4: (114.0, 3.0, 50.0)}
    taken = io.BytesIO()
    Image.new("RGB", (90, 60), (20, 90, 160)).save(taken, "JPEG", exif=exif.tobytes())
    wechat_api.media["photo-of-the-parcel"] = taken.getvalue()
    picture = wechat.image(openid, safe=True, media_id="photo-of-the-parcel")
    answer = wechat.post(picture)
    assert (answer.status_code, answer.text) == (200, "success")  # the bot is paused: no passive reply
    joined = wait_until(lambda: [m for m in console(stack, agent_token, "get", f"/api/cases/{case['id']}").json()["messages"]
                                 if m.get("image_id")])
    assert joined[0]["text"] == "[图片]" and joined[0]["sender"] == "customer"
    served = console(stack, agent_token, "get", f"/api/images/{joined[0]['image_id']}")
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == (90, 60) and not Image.open(io.BytesIO(served.content)).getexif()
    # The drafts for it come right after it joined (the same call of the case service).
    wait_until(lambda: any("照片收到了" in d["text"] for d in console(stack, agent_token, "get", f"/api/cases/{case['id']}").json()["drafts"]))
    # A media id WeChat does not know: nothing kept, the customer still gets the honest answer.
    unknown = wechat.image(openid, media_id="gone")
    assert wechat.post(unknown).status_code == 200
    assert len([m for m in console(stack, agent_token, "get", f"/api/cases/{case['id']}").json()["messages"]
                if m.get("image_id")]) == 1
