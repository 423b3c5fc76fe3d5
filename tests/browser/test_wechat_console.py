"""A WeChat customer's case in the console, in headless Chromium against the real stack: the agent
sees why a reply did not reach the customer (WeChat's 48-hour rule, 45015) under the text sent, live,
without reloading, and that it is not retried."""
from __future__ import annotations

import uuid

import pytest

from console_pages import ANGRY, eventually, open_case_in, signed_in, texts, wait_for_case
from kefu_rasa.dev.wechat_server import WeChatServer

pytestmark = pytest.mark.slow


def test_a_reply_wechat_refuses_for_the_48_hour_rule_shows_failed_with_the_reason(stack, store, agents, pages, wechat_api):
    from tests.conftest import WECHAT

    wechat = WeChatServer(f"{stack.rasa_url}/webhooks/wechat/webhook", WECHAT["KEFU_WECHAT_TOKEN"],
                          WECHAT["KEFU_WECHAT_APP_ID"], WECHAT["KEFU_WECHAT_AES_KEY"])
    openid = f"oKefu{uuid.uuid4().hex[:23]}"
    agent = signed_in(pages, stack, "xiaowang")
    push = wechat.text(openid, ANGRY, safe=True)
    assert wechat.post(push).status_code == 200
    case = wait_for_case(store, openid)
    agent.wait_for_selector(f".queue-item[data-conversation='{openid}']")
    agent.click(f".queue-item[data-conversation='{openid}']")
    open_case_in(agent, case["id"])

    wechat_api.outside_window.add(openid)  # the customer wrote more than 48 hours ago
    try:
        top = texts(agent, "#drafts .draft-text")[0]
        agent.keyboard.press("Enter")
        agent.wait_for_selector("#transcript .msg.agent .delivery.failed", timeout=30_000)
    finally:
        wechat_api.outside_window.discard(openid)
    assert texts(agent, "#transcript .msg.agent .text") == [top]
    assert texts(agent, "#transcript .msg.agent .delivery") == ["发送失败"]
    reason = agent.inner_text("#transcript .msg.agent .delivery-error")
    assert reason.startswith("未送达：微信拒收（45015）") and "48小时" in reason
    assert agent.evaluate("window.__sameDocument") is True
    # Refused for good: WeChat was asked once, and the text is nowhere in what the customer received.
    eventually(lambda: [c["errcode"] for c in wechat_api.calls_for(openid) if c["text"] == top] == [45015])
    assert top not in wechat_api.texts(openid)
    assert agent.errors == []
