"""The agent-assist loop with real processes: customer → case with drafts → agent → customer.

Rasa, the action server and the console run as `make run` starts them, on free loopback
ports; customers talk over socket.io (the web chat's channel) and Rasa's callback channel.
"""
from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
import socketio

from kefu_rasa.dev.servers import wait_until as kefu_wait_until

pytestmark = pytest.mark.slow


class WebCustomer:
    """A web-chat customer on Rasa's socket.io channel, with a random session id."""

    def __init__(self, url: str):
        self.session_id = str(uuid.uuid4())
        self.received = []
        self.client = socketio.Client(reconnection=True)
        self.client.on("bot_uttered", lambda data: self.received.append(data.get("text")))
        # (Re)joining the session's room after every (re)connect.
        self.client.on("connect", lambda: self.client.emit("session_request", {"session_id": self.session_id}))
        self.client.connect(url, transports=["polling"], wait_timeout=20)

    def say(self, text: str) -> None:
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    def wait_for(self, count: int, timeout: float = 20) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.1)
        return list(self.received)

    def close(self):
        self.client.disconnect()


def api(stack, token, method, path, payload=None):
    response = requests.request(
        method, f"{stack.console_url}{path}", json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=20
    )
    return response


def wait_until(predicate, timeout=20):
    value = kefu_wait_until(predicate, timeout=timeout, interval=0.2)
    assert value, "condition not met in time"
    return value


def case_of(stack, token, conversation_id, state="open"):
    cases = api(stack, token, "get", f"/api/cases?state={state}").json()["cases"]
    match = [c for c in cases if c["conversation_id"] == conversation_id]
    return api(stack, token, "get", f"/api/cases/{match[0]['id']}").json() if match else None


def customer_messages(case):
    return [m["text"] for m in case["messages"] if m["sender"] == "customer"]


def test_web_chat_customer_to_agent_and_back(stack, agent_token):
    customer = WebCustomer(stack.rasa_url)
    try:
        customer.say("快递一周了还没到，订单号 1234567890")
        holding = customer.wait_for(1)
        assert holding, "the holding message never reached the customer"
        case = wait_until(lambda: case_of(stack, agent_token, customer.session_id))
        facts = case["situation"]["facts"]
        assert str(facts["order_id"]) == "1234567890" and facts["carrier"] == "中通" and int(facts["days_late"]) >= 1
        assert 2 <= len(case["drafts"]) <= 3 and case["channel"] == "socketio"
        assert "delivery_delay" in case["concerns"]

        quiet_from = len(customer.wait_for(len(holding), timeout=2))
        customer.say("人呢？？")
        customer.say("我明天就要用的，麻烦快点")
        # Joined and redrafted: a message joins the case before its drafts are made, and approving the
        # drafts of an earlier message is (rightly) 409.
        case = wait_until(lambda: (c := case_of(stack, agent_token, customer.session_id)) and len(customer_messages(c)) == 3
                          and c["batch"] == 3 and c)
        assert customer_messages(case)[1:] == ["人呢？？", "我明天就要用的，麻烦快点"]
        time.sleep(1.5)
        assert len(customer.received) == quiet_from, "the bot answered while a person handles the case"

        draft = case["drafts"][1]
        response = api(stack, agent_token, "post", f"/api/cases/{case['id']}/approve",
                       {"draft_id": draft["id"], "batch": case["batch"], "resolve": True})
        assert response.status_code == 201, response.text
        received = customer.wait_for(quiet_from + 1)
        assert received[-1] == draft["text"]
        time.sleep(2)
        assert customer.received.count(draft["text"]) == 1
        closed = api(stack, agent_token, "get", f"/api/cases/{case['id']}").json()
        assert closed["state"] == "resolved" and closed["deliveries"][-1]["state"] == "delivered"

        before = len(customer.received)
        customer.say("你好")
        assert any("您好" in text for text in customer.wait_for(before + 1)[before:]), "the bot did not resume"
    finally:
        customer.close()


def say_callback(stack, sender, text):
    response = requests.post(f"{stack.rasa_url}/webhooks/callback/webhook", json={"sender": sender, "message": text}, timeout=30)
    assert response.status_code == 200, response.text


def test_callback_customer_concurrent_approvals_and_a_rasa_outage(stack, agent_token, callback_inbox):
    from assist.store import SuggestionStore

    second_token = SuggestionStore(stack.store_url).agents.create_agent("second-agent")
    sender = f"cb-{uuid.uuid4()}"
    say_callback(stack, sender, "我要投诉，你们客服态度太差了，问三遍都不回")
    assert callback_inbox.wait_for(sender, 1), "no holding message over the callback channel"
    case = wait_until(lambda: case_of(stack, agent_token, sender))
    assert case["channel"] == "callback"

    # Two agents approve the same draft at the same moment: one decision, one delivery.
    draft = case["drafts"][0]
    answers = []

    def approve(token):
        answers.append(api(stack, token, "post", f"/api/cases/{case['id']}/approve", {"draft_id": draft["id"], "batch": case["batch"]}))

    threads = [threading.Thread(target=approve, args=(t,)) for t in (agent_token, second_token)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in answers) == [201, 409]
    assert [r.json()["error"]["code"] for r in answers if r.status_code == 409] == ["already_handled"]
    wait_until(lambda: draft["text"] in callback_inbox.texts(sender))
    time.sleep(1.5)
    assert callback_inbox.texts(sender).count(draft["text"]) == 1

    # The customer writes again; Rasa goes down while the agent answers.
    say_callback(stack, sender, "还有，东西收到也是坏的")
    case = wait_until(lambda: (c := case_of(stack, agent_token, sender)) and c["batch"] == 2 and c)
    stack.stop_one("rasa")
    try:
        final = case["drafts"][0]
        response = api(stack, agent_token, "post", f"/api/cases/{case['id']}/approve",
                       {"draft_id": final["id"], "batch": 2, "resolve": True})
        assert response.status_code == 201
        time.sleep(1)
        pending = api(stack, agent_token, "get", f"/api/cases/{case['id']}").json()["deliveries"][-1]
        assert pending["state"] == "pending" and pending["attempts"] >= 1
    finally:
        stack.start("rasa")
    wait_until(lambda: final["text"] in callback_inbox.texts(sender), timeout=40)
    time.sleep(2)
    assert callback_inbox.texts(sender).count(final["text"]) == 1
    delivered = api(stack, agent_token, "get", f"/api/cases/{case['id']}").json()["deliveries"][-1]
    assert delivered["state"] == "delivered"


def test_customer_can_cancel_the_wait(stack, agent_token):
    customer = WebCustomer(stack.rasa_url)
    try:
        customer.say("转人工")
        customer.wait_for(1)
        case = wait_until(lambda: case_of(stack, agent_token, customer.session_id))
        count = len(customer.received)
        customer.say("算了不用了")
        wait_until(lambda: case_of(stack, agent_token, customer.session_id, state="cancelled"))
        assert len(customer.wait_for(count + 1)) > count  # told that the wait is cancelled
        before = len(customer.received)
        customer.say("你好")
        assert any("您好" in t for t in customer.wait_for(before + 1)[before:])
        assert case_of(stack, agent_token, customer.session_id) is None
    finally:
        customer.close()


def test_action_server_down_still_gives_a_holding_message_and_a_case(stack, agent_token, callback_inbox):
    """The console's event follower opens the case from Rasa's event stream instead."""
    stack.stop_one("actions")
    try:
        sender = f"cb-{uuid.uuid4()}"
        say_callback(stack, sender, "退款申请一个礼拜了还没到账，到底怎么回事")
        case = wait_until(lambda: case_of(stack, agent_token, sender), timeout=30)
        assert case["created_by"] == "follower" and len(case["drafts"]) >= 2
        holding = wait_until(lambda: callback_inbox.texts(sender), timeout=30)
        assert holding and "您" in holding[-1]
        # The holding message also paused the bot: the next message joins the case unanswered.
        wait_until(lambda: api(stack, agent_token, "get", f"/api/cases/{case['id']}").json()["deliveries"][-1]["state"] == "delivered")
        count = len(callback_inbox.texts(sender))
        say_callback(stack, sender, "在吗？")
        wait_until(lambda: len(customer_messages(case_of(stack, agent_token, sender))) == 2)
        time.sleep(1)
        assert len(callback_inbox.texts(sender)) == count
    finally:
        stack.start("actions")


def test_customer_words_reach_the_case_verbatim(stack, agent_token):
    """HTML, traditional characters and full-width punctuation are data: stored exactly as typed."""
    sender = f"cb-{uuid.uuid4()}"
    text = "<script>alert('x')</script><img src=x onerror=alert(1)>我要投訴，東西是壞的！！！"
    say_callback(stack, sender, text)
    case = wait_until(lambda: case_of(stack, agent_token, sender))
    assert customer_messages(case) == [text]
    listed = api(stack, agent_token, "get", "/api/cases").json()["cases"]
    assert [c["last_customer_text"] for c in listed if c["id"] == case["id"]] == [text]


def test_an_order_passed_in_by_the_shop_reaches_the_drafts(stack, agent_token):
    """The shop's page passes the order the customer came from; the customer never types it."""
    session = str(uuid.uuid4())
    response = requests.post(f"{stack.console_url}/chat/api/sessions/{session}/context", json={"order_id": "1234567890"}, timeout=10)
    assert response.status_code in (200, 201), response.text
    say_callback(stack, session, "我的快递怎么还没到啊，都等好久了")
    case = wait_until(lambda: case_of(stack, agent_token, session))
    facts = case["situation"]["facts"]
    assert str(facts["order_id"]) == "1234567890" and facts["carrier"] == "中通" and int(facts["days_late"]) >= 1
    assert facts["order_id_from_shop"] == "unsigned"  # no KEFU_CHAT_CONTEXT_SECRET in the tests
