"""Two Rasa servers on PostgreSQL and Redis, with nginx in front running the shipped
deploy/nginx/kefu.conf: a push through either server reaches a web-chat customer on the other one,
exactly once (socket.io rooms shared through Redis), and every conversation stays on one server,
its messages in order."""
from __future__ import annotations

import asyncio
import json
import random
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from assist.integrations.rasa import RasaClient, delivery_key
from kefu_rasa.dev.production import NGINX_CONF, Nginx, production_endpoints, production_env, render_nginx
from kefu_rasa.dev.servers import HOST, Stack, free_port, start_stack, wait_until
from kefu_rasa.dev.web_customer import WebCustomer

pytestmark = pytest.mark.slow


@dataclass
class Cluster:
    first: Stack   # Rasa + action server
    second: Stack  # Rasa + action server + the console, whose pushes go to this Rasa directly
    proxy: Nginx
    agent: str     # a console agent's token

    def rasa_servers(self):
        return {f"{HOST}:{self.first.rasa_url.rsplit(':', 1)[1]}", f"{HOST}:{self.second.rasa_url.rsplit(':', 1)[1]}"}


@pytest.fixture(scope="module")
def cluster(trained_model, postgres, redis, nginx, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scaleout")
    source = production_endpoints(postgres, redis, tmp / "endpoints.yml")
    env = production_env(postgres, tmp / "data", redis_port=redis)
    secret, rasa_ports, console_port = uuid.uuid4().hex, (free_port(), free_port()), free_port()
    proxy = nginx()
    proxy.start(render_nginx(NGINX_CONF.read_text(encoding="utf-8"), [f"{HOST}:{port}" for port in rasa_ports],
                             f"{HOST}:{console_port}", proxy.public_port, proxy.api_port, proxy.root / "logs"))
    common = dict(data_dir=tmp / "data", endpoints_source=source, secret=secret, extra_env=env)
    first = start_stack(trained_model, tmp / "one", rasa_port=rasa_ports[0], actions_port=free_port(), console_port=None, **common)
    try:
        # The web chat page, served by this console through nginx, connects to nginx too.
        second = start_stack(trained_model, tmp / "two", rasa_port=rasa_ports[1], actions_port=free_port(), console_port=console_port,
                             **dict(common, extra_env=dict(env, KEFU_CHAT_RASA_URL=proxy.public_url)))
    except Exception:
        first.stop()
        raise
    from assist.store import SuggestionStore

    try:
        yield Cluster(first, second, proxy, SuggestionStore(second.store_url).agents.create_agent("scaleout-agent"))
    finally:
        second.stop()
        first.stop()


def console(cluster, method, path, payload=None):
    return requests.request(method, f"{cluster.second.console_url}{path}", json=payload,
                            headers={"Authorization": f"Bearer {cluster.agent}"}, timeout=20)


def open_case(cluster, conversation_id):
    cases = console(cluster, "get", "/api/cases?state=open").json()["cases"]
    match = [c for c in cases if c["conversation_id"] == conversation_id]
    return console(cluster, "get", f"/api/cases/{match[0]['id']}").json() if match else None


def joined(url, session_query=False) -> WebCustomer:
    """A web-chat customer (long-polling) whose session_request was confirmed: in its room."""
    customer, confirmed = WebCustomer(url, connect=False), threading.Event()
    if session_query:
        customer.url = f"{url}?kefu_session={customer.session_id}"  # what console/static/chat.js sends
    customer.client.on("session_confirm", lambda *_: confirmed.set())
    customer.connect()
    assert confirmed.wait(20), f"no session_confirm from {url}"
    return customer


def test_an_approval_pushed_through_one_server_reaches_a_customer_on_the_other_once(cluster):
    assert cluster.second.env["KEFU_RASA_URL"] == cluster.second.rasa_url != cluster.first.rasa_url
    customer = joined(cluster.first.rasa_url)  # the customer's socket lives in the first Rasa process only
    try:
        customer.say("我要投诉，新买的电水壶第一次用就漏电了，你们得给个说法")
        holding = customer.wait_for(1)
        assert holding, "no holding message for the complaint"
        case = wait_until(lambda: open_case(cluster, customer.session_id), timeout=30, interval=0.2)
        assert case and case["drafts"], "the console opened no case with drafts"
        draft = case["drafts"][0]
        approved = console(cluster, "post", f"/api/cases/{case['id']}/approve", {"draft_id": draft["id"], "batch": case["batch"]})
        assert approved.status_code == 201, approved.text
        received = customer.wait_for(len(holding) + 1)
        assert received[-1] == draft["text"], "the approval pushed through the second server never reached the customer"
        assert wait_until(lambda: console(cluster, "get", f"/api/cases/{case['id']}").json()["deliveries"][-1]["state"] == "delivered")
        time.sleep(1.5)  # a copy per server would have arrived by now
        assert customer.received.count(draft["text"]) == 1 and customer.dropped == 0
        assert customer.shown[-1][2].startswith("d"), "the pushed message lost its delivery id on the way"

        # The tab drops; a reply is pushed while it is away; it comes back on the other server and
        # catches up (kefu_since) on the message, once.
        customer.drop()
        away = "您好，补发的新水壶今天已经寄出了，请留意查收"
        rasa = RasaClient(cluster.first.rasa_url, cluster.first.secret)
        rasa.deliver(customer.session_id, "socketio", away, delivery_key(random.randrange(10**9)))
        customer.url = cluster.second.rasa_url
        customer.reconnect()
        assert customer.wait_for(len(received) + 1)[-1] == away, "the message pushed while away was not caught up"
        time.sleep(1.5)
        assert customer.received.count(away) == 1 and customer.dropped == 0
    finally:
        customer.close()


QUESTIONS = ["你好呀", "请问今天下单什么时候发货", "能开电子发票吗", "好的，谢谢"]
BURST = ["在吗", "想问下这款还有现货吗", "有的话今天能发出吗"]


def test_through_nginx_each_conversation_stays_on_one_server_in_order(cluster):
    proxy = cluster.proxy

    def talk(sender):
        request_ids = []
        for text in QUESTIONS:
            answer = requests.post(f"{proxy.public_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                   headers={"X-Kefu-Conversation": sender}, timeout=120)
            assert answer.status_code == 200, f"{answer.text}\n{proxy.error_log()}"
            request_ids.append(answer.headers["X-Request-Id"])
        return request_ids

    # Web chats through nginx at the same time, each typing a burst without waiting for answers:
    # Rasa takes them in the order of their lock tickets, which one process issues in arrival order.
    chats = [joined(proxy.public_url, session_query=True) for _ in range(6)]
    senders = [f"route-{uuid.uuid4()}" for _ in range(16)]
    try:
        with ThreadPoolExecutor(len(senders)) as pool:
            bursts = [pool.submit(lambda c: [c.say(text) for text in BURST], chat) for chat in chats]
            asked = dict(zip(senders, pool.map(talk, senders)))
            [burst.result() for burst in bursts]
        rasa = RasaClient(proxy.api_url, cluster.first.secret)  # through nginx's private server, like the console
        user_texts = lambda conversation: [e["text"] for e in rasa.events(conversation) if e["event"] == "user"]  # noqa: E731
        for chat in chats:
            assert wait_until(lambda: len(user_texts(chat.session_id)) >= len(BURST), timeout=60), "a burst was not all taken"
            assert user_texts(chat.session_id) == BURST
            assert chat.wait_for(1), "a long-polling web chat behind nginx got no answer"
    finally:
        for chat in chats:
            chat.close()
    served_by = {line["request_id"]: line["upstream"] for line in proxy.access_log("kefu-access.log")}
    servers = {sender: {served_by[request_id] for request_id in ids} for sender, ids in asked.items()}
    assert all(len(used) == 1 for used in servers.values()), servers
    assert set().union(*servers.values()) == cluster.rasa_servers(), "the hash sent every conversation to one server"
    for sender in senders:
        assert user_texts(sender) == QUESTIONS, sender


async def websocket_customer(url, session_id, push):
    """A web chat on a WebSocket through nginx, speaking Engine.IO 4 / Socket.IO 5 frames itself
    (python-engineio's async client needs a newer aiohttp than Rasa's): joins its session, has
    `push` sent, and returns the bot messages that arrive."""
    import websockets

    address = url.replace("http://", "ws://") + f"/socket.io/?kefu_session={session_id}&EIO=4&transport=websocket"
    arrived = []
    async with websockets.connect(address, open_timeout=20) as ws:
        assert (await ws.recv()).startswith("0"), "no Engine.IO open packet"
        await ws.send("40")  # Socket.IO connect, default namespace
        await ws.send("42" + json.dumps(["session_request", {"session_id": session_id, "kefu_since": 0}]))
        pushed, deadline = False, time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                frame = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            if frame == "2":
                await ws.send("3")  # Engine.IO ping → pong
            elif frame.startswith("42"):
                event, data = json.loads(frame[2:])
                if event == "session_confirm" and not pushed:
                    pushed = True
                    await asyncio.get_running_loop().run_in_executor(None, push)
                elif event == "bot_uttered":
                    arrived.append(data)
                    deadline = time.monotonic() + 1.5  # a second copy would arrive by then
    return arrived


def test_through_nginx_a_web_chat_gets_its_pushed_message_once(cluster):
    proxy = cluster.proxy
    rasa = RasaClient(proxy.api_url, cluster.first.secret)  # the console's push, through nginx's private server

    def push(session_id, text):
        rasa.deliver(session_id, "socketio", text, delivery_key(random.randrange(10**6, 10**9)))

    polling = joined(proxy.public_url, session_query=True)
    try:
        push(polling.session_id, "您好，您的退款已经提交，请留意到账")
        assert polling.wait_for(1) == ["您好，您的退款已经提交，请留意到账"], "a polling web chat behind nginx got nothing"
        time.sleep(1.5)
        assert polling.received == ["您好，您的退款已经提交，请留意到账"] and polling.dropped == 0
    finally:
        polling.close()

    session_id = str(uuid.uuid4())
    text = "您好，新的快递单号已经帮您补发了"
    arrived = asyncio.run(websocket_customer(proxy.public_url, session_id, lambda: push(session_id, text)))
    assert [m.get("text") for m in arrived] == [text], arrived
    assert arrived[0]["id"].startswith("d") and arrived[0]["sender"] == "agent"


def test_shared_rooms_read_only_json_and_a_failed_publish_fails_the_push(redis):
    """What kefu's Redis manager changes in python-socketio's: a pickled message on the channel is
    never unpickled (it is skipped, the next JSON one still comes), and a publish Redis does not take
    raises instead of answering the push as if delivered."""
    import pickle

    import redis as redis_client
    from redis.exceptions import RedisError

    from kefu_rasa.socketio_rooms import SharedRooms

    channel = f"kefu-test-{uuid.uuid4()}"  # not the one the cluster's Rasa servers listen on

    async def listen_then_publish():
        rooms = SharedRooms(f"redis://{HOST}:{redis}/1", channel=channel)
        listening = rooms._listen()
        first = asyncio.ensure_future(listening.__anext__())
        publisher = redis_client.Redis(host=HOST, port=redis)
        while not publisher.pubsub_numsub(channel)[0][1]:  # subscribed (the first __anext__ subscribes)
            await asyncio.sleep(0.05)
        publisher.publish(channel, pickle.dumps({"method": "emit", "event": "bot_uttered", "data": "from pickle"}))
        await rooms._publish({"method": "emit", "event": "bot_uttered", "data": {"text": "好的"}, "room": "r1"})
        got = await asyncio.wait_for(first, 10)
        await listening.aclose()
        return got

    got = asyncio.run(listen_then_publish())
    assert got["data"] == {"text": "好的"} and got["room"] == "r1"

    async def publish_nowhere():
        await SharedRooms(f"redis://{HOST}:{free_port()}/1", channel=channel)._publish({"method": "emit", "data": "x"})

    with pytest.raises(RedisError):
        asyncio.run(publish_nowhere())


def test_the_web_chat_page_behind_nginx_gets_a_pushed_reply_once(cluster):
    """console/static/chat.js itself, in headless Chromium: the page, its socket.io and the push all
    go through nginx."""
    chromium = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None)
    if chromium is None:
        pytest.skip("no Chromium found: run scripts/install_browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: run make setup")
    proxy = cluster.proxy
    text = "您好，换货申请已经通过，快递员明天上门取件"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page, sockets = browser.new_page(), []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.goto(f"{proxy.public_url}/chat")
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)
            assert page.evaluate("kefuChat.socket.io.engine.transport.name") == "websocket"
            session_id = page.evaluate("kefuChat.sessionId")
            # The key nginx hashes on travels in the socket's URL.
            assert sockets and all(f"kefu_session={session_id}" in url for url in sockets), sockets
            RasaClient(proxy.api_url, cluster.first.secret).deliver(session_id, "socketio", text, delivery_key(random.randrange(10**9)))
            page.wait_for_selector(".bubble.agent .text", timeout=30_000)
            time.sleep(1.5)
            assert page.eval_on_selector_all(".bubble.agent .text", "els => els.map(e => e.textContent)") == [text]
        finally:
            browser.close()
