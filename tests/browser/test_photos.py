"""Photos in the conversation (issue 23), in headless Chromium against the real stack: a web-chat
customer with a case attaches a photo, sees its thumbnail, and the agent sees it in the case's
transcript (enlarged on a click, fetched with their session), the facts say 顾客已发图片 and the
drafts acknowledge it. The photo is made here with Pillow, with a GPS position the server removes."""
from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from console_pages import customer_with_case, eventually, open_case_in, save_screenshot, signed_in

pytestmark = pytest.mark.slow
BROKEN = "你们发来的杯子是碎的，包装太差了，真让人生气"


def photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 16.0, 5.0), 3: "E", 4: (120.0, 9.0, 22.0)}
    picture = Image.new("RGB", (320, 240), (235, 235, 228))
    for x in range(60, 260):  # a dark band across it: something to look at
        for y in range(110, 130):
            picture.putpixel((x, y), (40, 40, 48))
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def loaded(page, selector):
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_a_customer_sends_a_photo_and_the_agent_sees_it_with_drafts_that_acknowledge_it(stack, store, agents, pages):
    agent = signed_in(pages, stack, "xiaowang")
    shopper, session, case = customer_with_case(pages, stack, store, BROKEN)
    shopper.wait_for_selector(".bubble.bot")

    shopper.set_input_files("#photo", files=[{"name": "cup.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}])
    shopper.wait_for_selector(".bubble.customer img.photo-thumb")
    eventually(lambda: loaded(shopper, ".bubble.customer img.photo-thumb"))

    def photo_message():
        said = [m for m in store.cases.get_case(case["id"])["messages"] if m["sender"] == "customer"]
        return said[-1] if said[-1].get("image_id") else None

    eventually(photo_message, timeout=30)
    message = photo_message()
    assert message["text"] == "[图片]"
    kept = requests.get(f"{stack.console_url}/chat/api/sessions/{session}/images/{message['image_id']}", timeout=10)
    assert kept.status_code == 200 and kept.headers["Content-Type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(kept.content)).getexif()  # the GPS position did not survive
    assert requests.get(f"{stack.console_url}/api/images/{message['image_id']}", timeout=10).status_code == 401

    open_case_in(agent, case["id"])
    thumb = "#transcript .msg.customer img.photo-thumb"
    agent.wait_for_selector(thumb)
    eventually(lambda: loaded(agent, thumb))  # fetched with the agent's session cookie
    agent.wait_for_function("() => [...document.querySelectorAll('#drafts .draft-text')].some(d => d.textContent.includes('照片收到了'))")
    assert "顾客已发图片" in agent.inner_text("#situation")
    save_screenshot(agent, "photo-case.png")

    agent.click(thumb)
    agent.wait_for_selector(".photo-box img")
    agent.keyboard.press("1")  # no shortcut reaches the console while the photo is open
    agent.keyboard.press("Enter")
    agent.wait_for_selector(".photo-box", state="detached")
    assert not store.cases.get_case(case["id"])["decisions"]  # Enter closed the photo, sent nothing
    agent.click(thumb)
    agent.keyboard.press("Escape")
    agent.wait_for_selector(".photo-box", state="detached")
    assert agent.evaluate("window.__sameDocument") is True

    # The customer's own page shows it again after a reload (history), and nobody else's session does.
    shopper.reload()
    shopper.wait_for_selector(".bubble.customer img.photo-thumb")
    assert shopper.errors == [] and agent.errors == []
