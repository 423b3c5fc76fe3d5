"""What the browser tests share: the people, signing in, a customer in the web chat, waiting for
a case or a text, and screenshots (reports/screenshots/, or the README's docs/screenshots/ with
KEFU_UPDATE_SCREENSHOTS=1)."""
from __future__ import annotations

import io
import time
from pathlib import Path

from assist.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
# A test run must not dirty the work tree: the README's copies change only when asked for.
SHOTS = ROOT / ("docs" if get_settings().update_screenshots else "reports") / "screenshots"
PASSWORD = "password-for-tests"
ANGRY = "你们这什么破快递，一个礼拜了还不到！"
AGENTS = ("xiaowang", "xiaoli")
SUPERVISOR = "laozhang"


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


def customer_with_case(new_page, stack, store, text):
    """A web-chat customer who writes `text` and so gets a case: (their page, their session, the case)."""
    shopper = customer(new_page, stack)
    session = shopper.evaluate("kefuChat.sessionId")
    say(shopper, text)
    return shopper, session, wait_for_case(store, session)


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
    """The console opens the most urgent case nobody holds by itself; on a stack other tests share,
    that may be another one: then the agent clicks this one in the queue."""
    item = page.locator(f".queue-item[data-case-id='{case_id}']")
    item.wait_for()
    if "current" not in (item.get_attribute("class") or "").split():
        item.click()
    page.wait_for_selector(f".queue-item.current[data-case-id='{case_id}']")
    page.wait_for_selector(f"#case-body[data-case-id='{case_id}'] #drafts .draft")
