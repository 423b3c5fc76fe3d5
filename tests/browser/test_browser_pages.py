"""The two pages people use, in headless Chromium against the real stack (Rasa, action server,
console as `make run` starts them): a customer in the web chat, agents in the console.

Playwright drives the system Chromium (scripts/install_browser.sh installs it with a CJK font);
without one these tests skip and say why. Screenshots go to reports/screenshots/ (not committed);
KEFU_UPDATE_SCREENSHOTS=1 writes the README's copies in docs/screenshots/ instead.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from assist.settings import get_settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# A test run must not dirty the work tree: the README's copies change only when asked for.
SHOTS = ROOT / ("docs" if get_settings().update_screenshots else "reports") / "screenshots"
PASSWORD = "password-for-tests"
ANGRY = "你们这什么破快递，一个礼拜了还不到！"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
WAIT_MS = 30_000


def find_chromium():
    for name in (get_settings().chromium, "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session", autouse=True)
def chromium_path():
    """Checked first, so a machine without a browser skips before starting any server."""
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium found: run scripts/install_browser.sh (apt-get install chromium fonts-noto-cjk) or set KEFU_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed: run make setup")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def store(stack):
    from assist.store import SuggestionStore

    return SuggestionStore(stack.store_url)


@pytest.fixture(scope="module")
def agents(store):
    from console.passwords import hash_password

    for name in ("xiaowang", "xiaoli"):
        store.agents.create_agent(name)
        store.agents.set_password_hash(name, hash_password(PASSWORD))
    return ("xiaowang", "xiaoli")


@pytest.fixture(autouse=True)
def empty_queue(stack, store):
    """Each test starts with no open case (other tests share the stack)."""
    from assist.store import CANCELLED

    for case in store.queue.open_queue():
        store.cases.close_case(case["id"], state=CANCELLED)
    yield


@pytest.fixture
def pages(browser):
    """New browser contexts (separate cookies and storage: separate people), closed after the test."""
    contexts = []

    def new(width=1280, height=800):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("dialog", lambda dialog: (page.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        return page

    yield new
    for context in contexts:
        context.close()


def signed_in(new_page, stack, name):
    page = new_page()
    page.goto(f"{stack.console_url}/")
    assert "/login" in page.url  # nothing without signing in
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{stack.console_url}/")
    page.wait_for_selector("#live.on")
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    return page


def customer(new_page, stack, fragment=""):
    page = new_page(420, 720)
    page.goto(f"{stack.console_url}/chat{fragment}")
    page.wait_for_selector("body[data-ready=true]")
    return page


def say(page, text):
    page.fill("#input", text)
    page.press("#input", "Enter")


def texts(page, selector):
    return page.eval_on_selector_all(selector, "els => els.map(e => e.textContent)")


def wait_for_case(store, conversation_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        case = store.cases.open_case_for(conversation_id)
        if case:
            return store.cases.get_case(case["id"])
        time.sleep(0.1)
    raise AssertionError(f"no case opened for {conversation_id}")


def eventually(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def wait_for_text(page, selector, text):
    page.wait_for_function(
        "([selector, text]) => [...document.querySelectorAll(selector)].some(e => e.textContent === text)",
        arg=[selector, text],
    )


def save_screenshot(page, name):
    """SHOTS/NAME, reduced to a 128-colour palette: a third of the size, same text."""
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(SHOTS / name, optimize=True)


def open_case_in(page, case_id):
    page.wait_for_selector(f".queue-item.current[data-case-id='{case_id}']")
    page.wait_for_selector(f"#case-body[data-case-id='{case_id}'] #drafts .draft")


def test_customer_to_agent_and_back_without_reloads(stack, store, agents, pages):
    # A calmer case someone else is answering: the new angry case must rank above it.
    calm = store.cases.open_case(f"calm-{uuid.uuid4()}", {"intent": "price_haggle", "concerns": ["price_haggle"], "mood": "calm", "urgency": 1},
                           [{"text": "您好，这款现在有满199减20的活动哦，您看可以吗？", "score": 1}], "能便宜点吗")
    store.claims.claim_case(calm["id"], "xiaoli")
    agent = signed_in(pages, stack, "xiaowang")
    agent.wait_for_selector(f".queue-item[data-case-id='{calm['id']}']")
    shopper = customer(pages, stack)
    session = shopper.evaluate("kefuChat.sessionId")

    say(shopper, ANGRY)
    case = wait_for_case(store, session)
    shopper.wait_for_selector(".bubble.bot")
    first_answer = texts(shopper, ".bubble.bot .text")[0]
    # It is the holding message: the bot's words on the case, not an answer of its own.
    deadline = time.monotonic() + 10
    while first_answer not in [m["text"] for m in store.cases.get_case(case["id"])["messages"] if m["sender"] == "bot"]:
        assert time.monotonic() < deadline, f"{first_answer!r} is not the case's holding message"
        time.sleep(0.1)
    assert texts(shopper, ".bubble.customer .text") == [ANGRY]

    # The case appears at the top of the open console, live, and opens for the idle agent.
    agent.wait_for_selector(f".queue-item:first-child[data-conversation='{session}']")
    open_case_in(agent, case["id"])
    assert agent.evaluate("window.__sameDocument") is True
    item = agent.inner_text(f".queue-item[data-conversation='{session}']")
    assert ANGRY in item and "催件" in item and "生气" in item and "等待" in item
    assert "生气" in agent.inner_text("#situation")

    draft_two = texts(agent, "#drafts .draft-text")[1]
    agent.keyboard.press("2")
    agent.keyboard.press("Enter")
    wait_for_text(shopper, ".bubble .text", draft_two)
    shopper.wait_for_selector(".bubble.agent")
    assert texts(shopper, ".bubble.agent .text") == [draft_two]  # exactly that text, shown as a person's
    shopper.wait_for_selector("#answering.person")
    decision = store.cases.get_case(case["id"])["decisions"][-1]
    assert (decision["action"], decision["agent"], decision["final_text"]) == ("approve", "xiaowang", draft_two)
    agent.wait_for_selector("#transcript .msg.agent .delivery.delivered")

    # Resolved: the customer is asked once for a one-tap rating, stored with the case.
    agent.click("#resolve")
    shopper.wait_for_selector("#rating:not([hidden]) button[data-score='4']")
    save_screenshot(shopper, "webchat.png")
    shopper.click("#rating button[data-score='4']")
    shopper.wait_for_selector("#rating >> text=感谢您的评价")
    assert store.cases.get_case(case["id"])["rating"] == 4

    # A returning customer (same browser) has the conversation back, with the same session.
    shopper.reload()
    shopper.wait_for_selector("body[data-ready=true]")
    assert shopper.evaluate("kefuChat.sessionId") == session
    again = texts(shopper, ".bubble .text")
    assert again[0] == ANGRY and draft_two in again
    assert shopper.eval_on_selector_all(".bubble.agent .text", "els => els.map(e => e.textContent)") == [draft_two]
    assert agent.errors == [] and shopper.errors == []


def test_the_chat_catches_up_after_a_lost_connection_and_shows_a_reply_once(stack, store, agents, pages):
    """Issue 15: a reply pushed while the tab was disconnected arrives when it reconnects (the
    page sends the time of the last message it showed); the same delivery pushed again (its first
    answer was lost) is not shown twice, live or after a reload."""
    from assist.integrations.rasa import RasaClient

    shopper = customer(pages, stack)
    session = shopper.evaluate("kefuChat.sessionId")
    say(shopper, ANGRY)
    case = wait_for_case(store, session)
    shopper.wait_for_selector(".bubble.bot")
    shopper.evaluate("kefuChat.socket.disconnect()")  # the tab loses its connection
    draft = case["drafts"][0]
    store.decisions.decide(case["id"], "xiaowang", "approve", draft_id=draft["id"], batch=case["batch"])
    deadline = time.monotonic() + 30
    while (delivery := store.cases.get_case(case["id"])["deliveries"][-1])["state"] != "delivered":
        assert time.monotonic() < deadline, "the reply was never pushed"
        time.sleep(0.1)
    time.sleep(0.5)
    assert texts(shopper, ".bubble.agent .text") == []  # pushed into an empty room
    shopper.evaluate("kefuChat.socket.connect()")
    wait_for_text(shopper, ".bubble.agent .text", draft["text"])
    RasaClient(stack.rasa_url, stack.token).deliver(session, "socketio", draft["text"], f"d{delivery['id']}")
    time.sleep(1.5)
    assert texts(shopper, ".bubble.agent .text") == [draft["text"]]
    shopper.reload()
    shopper.wait_for_selector("body[data-ready=true]")
    wait_for_text(shopper, ".bubble.agent .text", draft["text"])
    time.sleep(1)
    assert texts(shopper, ".bubble.agent .text") == [draft["text"]] and shopper.errors == []


def test_editing_shows_the_finding_and_its_fix_before_sending(stack, store, agents, pages):
    agent = signed_in(pages, stack, "xiaowang")
    shopper = customer(pages, stack)
    session = shopper.evaluate("kefuChat.sessionId")
    say(shopper, "我要投诉，你们客服态度太差了，问了三遍都不回")
    case = wait_for_case(store, session)
    open_case_in(agent, case["id"])

    agent.keyboard.press("e")
    editor = agent.locator("#edit-text")
    editor.wait_for()
    assert editor.input_value() == texts(agent, "#drafts .draft-text")[0]  # editing starts from the draft
    editor.press("Control+A")
    agent.keyboard.type("非常抱歉让您不愉快了，这是公司规定，您看可以吗？")
    finding = agent.locator(".finding[data-rule='rule.shield']")
    finding.wait_for()
    assert "规定" in finding.locator("mark").inner_text() and "建议：" in finding.inner_text()
    assert store.cases.get_case(case["id"])["decisions"] == []  # seen before anything is sent
    save_screenshot(agent, "console.png")

    finding.locator("button.apply").click()
    agent.wait_for_selector(".finding[data-rule='rule.shield']", state="detached")
    fixed = editor.input_value()
    assert "规定" not in fixed and fixed.startswith("非常抱歉让您不愉快了，") and fixed.endswith("您看可以吗？")
    # the fix invents no reason: it leaves a marked gap, selected, which blocks until the agent fills it
    assert "【请填写原因】" in fixed
    agent.wait_for_selector(".finding[data-rule='gap.unfilled'][data-severity='block']")
    agent.keyboard.type("拆封后会影响二次销售")
    agent.wait_for_selector("#findings[data-count='0']", state="attached")
    sent = editor.input_value()
    assert sent == fixed.replace("【请填写原因】", "拆封后会影响二次销售")
    editor.press("Enter")
    wait_for_text(shopper, ".bubble .text", sent)
    decision = store.cases.get_case(case["id"])["decisions"][-1]
    assert decision["action"] == "edit" and decision["final_text"] == sent and decision["findings_overridden"] is False


def test_advice_is_shown_quietly_and_never_blocks_sending(stack, store, agents, pages):
    agent = signed_in(pages, stack, "xiaowang")
    shopper = customer(pages, stack)
    session = shopper.evaluate("kefuChat.sessionId")
    say(shopper, "我的快递怎么还没到，都五天了")
    case = wait_for_case(store, session)
    open_case_in(agent, case["id"])

    agent.keyboard.press("e")
    editor = agent.locator("#edit-text")
    editor.wait_for()
    editor.press("Control+A")
    agent.keyboard.type("好的，我这就去仓库核实。")  # mid-conversation: no polite close, which is advice
    agent.wait_for_selector(".finding.advice[data-rule='close.polite'][data-severity='advice']")
    agent.wait_for_selector("#findings[data-block='0']", state="attached")
    editor.press("Enter")
    wait_for_text(shopper, ".bubble .text", "好的，我这就去仓库核实。")
    assert agent.locator("#send-anyway").is_hidden()
    decision = store.cases.get_case(case["id"])["decisions"][-1]
    assert decision["action"] == "edit" and decision["findings_overridden"] is False
    assert agent.errors == [] and shopper.errors == []


def test_a_second_agent_sees_the_case_as_claimed(stack, store, agents, pages):
    first = signed_in(pages, stack, "xiaowang")
    shopper = customer(pages, stack)
    session = shopper.evaluate("kefuChat.sessionId")
    say(shopper, "我要退款，东西质量太差了")
    case = wait_for_case(store, session)
    open_case_in(first, case["id"])
    eventually(lambda: store.claims.claimed_by(case["id"]) == "xiaowang")

    second = signed_in(pages, stack, "xiaoli")
    item = second.locator(f".queue-item[data-case-id='{case['id']}']")
    item.wait_for()
    assert "xiaowang 接待中" in item.inner_text()
    assert second.locator(".queue-item.current").count() == 0  # an idle agent is not handed a taken case
    item.click()
    second.wait_for_selector("#case-claim.other")
    assert "xiaowang" in second.inner_text("#case-claim")
    second.keyboard.press("1")
    second.keyboard.press("Enter")
    second.wait_for_selector("#notice.error")
    assert store.cases.get_case(case["id"])["decisions"] == []  # cannot send on it

    second.click("#takeover")
    first.wait_for_selector("#case-claim.other")  # the first agent sees it go, live
    assert "xiaoli" in first.inner_text("#case-claim")
    draft = texts(second, "#drafts .draft-text")[0]
    second.keyboard.press("1")
    second.keyboard.press("Enter")
    wait_for_text(shopper, ".bubble .text", draft)
    assert store.cases.get_case(case["id"])["decisions"][-1]["agent"] == "xiaoli"


def test_customer_html_is_text_in_both_pages(stack, store, agents, pages):
    agent = signed_in(pages, stack, "xiaowang")
    shopper = customer(pages, stack)
    session = shopper.evaluate("kefuChat.sessionId")
    attack = '我要投诉<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b>粗</b>'
    say(shopper, attack)
    case = wait_for_case(store, session)
    open_case_in(agent, case["id"])
    assert agent.inner_text(f".queue-item[data-case-id='{case['id']}'] .words") == attack
    wait_for_text(agent, "#transcript .msg.customer .text", attack)
    wait_for_text(shopper, ".bubble.customer .text", attack)
    time.sleep(0.5)  # give an injected onerror its chance to fire
    for page, area in ((agent, "#case"), (shopper, ".messages")):
        assert page.evaluate("window.__pwned") is None
        assert page.locator(f"{area} img, {area} script, {area} b").count() == 0
        assert page.errors == []


def test_enter_while_an_input_method_composes_does_not_send(stack, store, agents, pages):
    press = """([selector, how]) => {
        const box = document.querySelector(selector);
        const event = new KeyboardEvent("keydown", {key: "Enter", bubbles: true, cancelable: true, isComposing: how === "composing"});
        if (how === "229") Object.defineProperty(event, "keyCode", {get: () => 229});
        box.dispatchEvent(event);
    }"""
    shopper = customer(pages, stack)
    shopper.fill("#input", "tuikuan")
    for how in ("composing", "229"):
        shopper.evaluate(press, ["#input", how])
    assert shopper.locator(".bubble").count() == 0 and shopper.input_value("#input") == "tuikuan"
    shopper.fill("#input", "我要退款，东西坏了")
    shopper.evaluate(press, ["#input", "plain"])
    shopper.wait_for_selector(".bubble.customer")

    agent = signed_in(pages, stack, "xiaowang")
    case = wait_for_case(store, shopper.evaluate("kefuChat.sessionId"))
    open_case_in(agent, case["id"])
    agent.keyboard.press("e")
    agent.wait_for_selector("#edit-text")
    for how in ("composing", "229"):
        agent.evaluate(press, ["#edit-text", how])
    time.sleep(0.5)
    assert store.cases.get_case(case["id"])["decisions"] == []


@contextlib.contextmanager
def shop_site(html: str):
    """A shop's page on its own origin. (Loopback, since Chromium keeps public pages from
    loading scripts off loopback: a real console has a public address.)"""
    class Shop(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()


def test_a_shop_embeds_the_chat_with_one_script_tag(stack, store, agents, pages, browser):
    shop = f"""<!doctype html><meta charset="utf-8"><title>小店</title><h1>小店首页</h1>
<script>window.KefuChat = {{ title: "小店客服", colors: {{ brand: "#0a7d5a" }}, order_id: "1234567890", customer_id: "c-42" }};</script>
<script src="{stack.console_url}/chat/embed.js" async></script>"""
    page = pages(1024, 768)
    with shop_site(shop) as url:  # another origin (port) on loopback, as a shop's own site
        page.goto(url)
    page.click("button[data-kefu-chat=button]")
    frame = page.frame_locator("iframe[data-kefu-chat=frame]")
    frame.locator("body[data-ready=true]").wait_for()
    assert frame.locator("#title").inner_text() == "小店客服"
    frame.locator("#input").fill("快递一周了还没到，怎么回事")
    frame.locator("#input").press("Enter")
    frame.locator(".bubble.bot").first.wait_for()
    session = frame.locator("body").get_attribute("data-session")
    case = wait_for_case(store, session)
    context = store.customers.chat_context(session)
    assert context["context"] == {"order_id": "1234567890", "customer_id": "c-42"} and context["verified"] is False
    tracker = requests.get(f"{stack.rasa_url}/conversations/{session}/tracker", params={"token": stack.token}, timeout=10).json()
    said = [e for e in tracker["events"] if e["event"] == "user"]
    assert said[-1]["metadata"]["kefu_context"]["order_id"] == "1234567890"  # Rasa's actions get it too
    agent = signed_in(pages, stack, "xiaowang")
    open_case_in(agent, case["id"])
    assert "1234567890" in agent.inner_text("#situation") and "店铺传入" in agent.inner_text("#situation")


def test_history_page_search_and_figures(stack, store, agents, pages):
    marker = uuid.uuid4().hex[:6]
    case = store.cases.open_case(f"hist-{uuid.uuid4()}", {"intent": "refund_return", "concerns": ["refund_return"], "mood": "calm", "urgency": 3},
                           [{"text": "好的，我这就帮您办理退款，您看可以吗？", "score": 1, "variant_id": "refund_return.a"}],
                           f"我要退款了{marker}")
    draft = store.cases.get_case(case["id"])["drafts"][0]
    store.decisions.decide(case["id"], "xiaowang", "approve", draft_id=draft["id"], resolve=True)
    agent = signed_in(pages, stack, "xiaowang")
    agent.goto(f"{stack.console_url}/history")
    agent.wait_for_selector("#by-concern tbody tr td")
    assert "退换" in agent.inner_text("#by-concern") and "refund_return.a" in agent.inner_text("#by-template")
    assert "xiaowang" in agent.inner_text("#first-agent")
    agent.fill("#q", f"退款了{marker}")
    agent.press("#q", "Enter")
    agent.wait_for_selector(f"#results li[data-case-id='{case['id']}']")
    assert f"我要退款了{marker}" in agent.inner_text("#results")
    assert agent.locator(f"#history li[data-case-id='{case['id']}']").count() == 1


def test_keys_move_through_the_queue_reject_with_a_reason_and_correct_the_concern(stack, store, agents, pages):
    seeded = []
    for n, (urgency, words) in enumerate([(9, "气死了，东西是坏的"), (5, "还没发货吗"), (1, "能便宜点吗")]):
        situation = {"intent": "complaint", "concerns": ["complaint"], "mood": "angry" if urgency > 5 else "calm", "urgency": urgency}
        drafts = [{"text": f"非常抱歉给您添麻烦了，我马上帮您处理，您看可以吗？（{n}）", "score": 1, "reason": "测试"}]
        seeded.append(store.cases.open_case(f"keys-{uuid.uuid4()}", situation, drafts, words)["id"])
    agent = signed_in(pages, stack, "xiaowang")
    open_case_in(agent, seeded[0])  # the idle agent gets the most urgent
    agent.keyboard.press("j")
    open_case_in(agent, seeded[1])
    eventually(lambda: store.claims.claimed_by(seeded[0]) is None)  # passed through without answering: back to the queue
    agent.keyboard.press("j")
    open_case_in(agent, seeded[2])
    agent.keyboard.press("k")
    open_case_in(agent, seeded[1])
    agent.keyboard.press("r")
    agent.wait_for_selector("#reject-reason")
    agent.keyboard.type("没回答顾客的问题")
    agent.keyboard.press("Enter")
    agent.wait_for_selector("#notice.ok")
    decision = store.cases.get_case(seeded[1])["decisions"][-1]
    assert (decision["action"], decision["reason"], decision["agent"]) == ("reject", "没回答顾客的问题", "xiaowang")

    agent.click("#situation button[data-concern='refund_return']")
    agent.wait_for_selector("#case-tags .concern-refund_return")
    assert store.learning.corrections()[0]["corrected"] == "refund_return" and store.learning.corrections()[0]["case_id"] == seeded[1]
    assert agent.errors == []
