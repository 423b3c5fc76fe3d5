"""The console for a team on a shift, in headless Chromium against the real stack: an edit that
the customer overtakes is shown and asked about before it goes; a rejection brings fresh drafts
or says there are none; alerts for an agent in another tab (title badge, sound, notification,
red state); a transfer between two signed-in agents with a note; a supervisor's view and
reassignment."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from console_pages import (ANGRY, customer, customer_with_case, eventually, open_case_in, save_screenshot, say, signed_in, texts,
                           wait_for_case, wait_for_text)

pytestmark = pytest.mark.slow

# The agent is in another tab: the page has no focus, and the browser's Notification and sound
# are stand-ins that record what the page asked for.
AWAY = """
window.__notified = [];
window.__beeps = 0;
class RecordedNotification {
  constructor(title, options) { window.__notified.push({title, body: (options || {}).body || ""}); }
  static requestPermission() { RecordedNotification.permission = "granted"; return Promise.resolve("granted"); }
}
RecordedNotification.permission = "default";
window.Notification = RecordedNotification;
class RecordedAudio {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createOscillator() { return {frequency: {}, connect() {}, start() { window.__beeps += 1; }, stop() {}}; }
  createGain() { return {gain: {}, connect() {}}; }
}
window.AudioContext = RecordedAudio;
document.hasFocus = () => false;
"""


def test_a_message_that_arrives_while_editing_is_shown_at_once_and_sending_anyway_is_asked(stack, store, agents, pages):
    agent = signed_in(pages, stack, "xiaowang")
    shopper, session, case = customer_with_case(pages, stack, store, ANGRY)
    open_case_in(agent, case["id"])
    begun = store.cases.get_case(case["id"])["batch"]

    agent.keyboard.press("e")
    editor = agent.locator("#edit-text")
    editor.wait_for()
    editor.press("Control+A")
    reply = "非常抱歉让您久等了，我马上联系快递加急派送，今天下午5点前回复您。"
    agent.keyboard.type(reply)
    assert agent.locator("#stale").is_hidden()

    # The customer writes while the agent edits: the new words appear above the editor at once.
    say(shopper, "人呢？？我要退款！")
    agent.wait_for_selector("#stale:not([hidden]) #stale-words li")
    assert "人呢？？我要退款！" in agent.inner_text("#stale-words")
    assert "编辑时发来新消息" in agent.inner_text("#notice")
    assert editor.input_value() == reply  # the agent's text is kept
    eventually(lambda: store.cases.get_case(case["id"])["batch"] > begun)  # fresh drafts for the new words
    newer = store.cases.get_case(case["id"])["batch"]
    agent.wait_for_selector(f"#drafts[data-batch='{newer}']")

    # Enter asks first; nothing is sent.
    editor.press("Enter")
    agent.wait_for_selector("#stale-ask:not([hidden])")
    assert agent.evaluate("document.activeElement.id") == "send-stale"
    agent.wait_for_timeout(300)
    assert store.cases.get_case(case["id"])["decisions"] == []
    # Esc goes back to the text; Enter asks again, and one more key sends it anyway.
    agent.keyboard.press("Escape")
    agent.wait_for_selector("#stale-ask", state="hidden")
    assert agent.evaluate("document.activeElement.id") == "edit-text"
    editor.press("Enter")
    agent.wait_for_selector("#stale-ask:not([hidden])")
    agent.keyboard.press("Enter")
    wait_for_text(shopper, ".bubble.agent .text", reply)
    decision = store.cases.get_case(case["id"])["decisions"][-1]
    assert (decision["action"], decision["final_text"]) == ("edit", reply)
    assert (decision["batch"], decision["written_for_batch"]) == (newer, begun)  # recorded: sent over newer words
    agent.wait_for_selector("#editor", state="hidden")
    assert agent.errors == [] and shopper.errors == []


def test_a_rejection_brings_fresh_drafts_or_says_plainly_there_are_none(stack, store, agents, pages):
    agent = signed_in(pages, stack, "xiaowang")
    shopper, session, case = customer_with_case(pages, stack, store, "我要投诉，你们客服态度太差了，问了三遍都不回")
    open_case_in(agent, case["id"])

    rejected, fresh_batches = [], 0
    for _ in range(10):
        shown = texts(agent, "#drafts .draft-text")
        rejected += shown
        batch = store.cases.get_case(case["id"])["batch"]
        agent.keyboard.press("r")
        agent.wait_for_selector("#reject-reason")
        agent.keyboard.type("语气太生硬")
        agent.keyboard.press("Enter")
        # The new batch on screen: its notice was set before it was shown.
        agent.wait_for_selector(f"#drafts[data-batch='{batch + 1}']")
        assert agent.inner_text("#notice").startswith("已拒绝") and agent.locator("#notice.ok").count() == 1
        if "没有别的建议回复了" in agent.inner_text("#notice"):
            break
        fresh_batches += 1
        assert agent.inner_text("#notice") == "已拒绝，换了一组新的建议回复"
        fresh = texts(agent, "#drafts .draft-text")
        assert fresh and not set(fresh) & set(rejected), (fresh, rejected)  # never a rejected draft again
        assert agent.locator("#drafts .draft.selected").count() == 1
    else:
        raise AssertionError("the drafts never ran out")
    assert fresh_batches >= 1  # it offered fresh drafts before running out

    # None left: said plainly, in the list too; E opens an empty editor, never the rejected text.
    assert agent.inner_text("#notice") == "已拒绝。没有别的建议回复了，请按 E 自己写"
    assert agent.inner_text("#drafts .no-drafts") == "没有别的建议回复了：按 E 自己写回复"
    agent.keyboard.press("Enter")
    agent.wait_for_function("() => document.querySelector('#notice').textContent.includes('没有可发送的草稿')")
    agent.keyboard.press("e")
    editor = agent.locator("#edit-text")
    editor.wait_for()
    assert editor.input_value() == ""
    own = "非常抱歉让您有不好的体验，我这就登记并转给主管核实，今天下午5点前回复您。"
    agent.keyboard.type(own)
    editor.press("Enter")
    wait_for_text(shopper, ".bubble.agent .text", own)
    decisions = store.cases.get_case(case["id"])["decisions"]
    assert [d["action"] for d in decisions] == ["reject"] * (fresh_batches + 1) + ["edit"]
    assert agent.errors == [] and shopper.errors == []


def test_alerts_title_badge_sound_notification_and_the_red_state(stack, store, agents, pages):
    agent = signed_in(lambda: _page_with(pages, AWAY), stack, "xiaowang")
    assert agent.title() == "客服工作台 · kefu-assist"  # nobody waiting

    # The agent allows notifications and turns the sound on (kept in localStorage).
    agent.click("#alert-notify")
    agent.wait_for_selector("#alert-notify[data-permission=granted]")
    assert agent.inner_text("#alert-notify") == "桌面通知已开启"
    agent.check("#alert-sound")
    assert agent.evaluate("localStorage.getItem('kefu.alerts.sound')") == "on"
    beeps = agent.evaluate("window.__beeps")

    # A case arrives while the agent is in another tab: the title counts it, a notification and a beep tell.
    shopper = customer(pages, stack)
    session = shopper.evaluate("kefuChat.sessionId")
    say(shopper, "我要退款，东西质量太差了")
    wait_for_case(store, session)
    agent.wait_for_function("() => document.title.startsWith('(1) ')")
    agent.wait_for_function("() => window.__notified.some(n => n.title === '新会话等待接待')")
    arrived = agent.evaluate("window.__notified.find(n => n.title === '新会话等待接待')")
    assert arrived["body"] == "我要退款，东西质量太差了"
    assert agent.evaluate("window.__beeps") > beeps

    # The customer writes again: told again.
    say(shopper, "在吗？？")
    agent.wait_for_function("() => window.__notified.some(n => n.title === '顾客发来新消息' && n.body === '在吗？？')")

    # A customer waiting past the red limit: red title, red bar, the alert favicon, told once.
    late = store.cases.open_case(f"late-{uuid.uuid4()}", {"intent": "delivery_delay", "concerns": ["delivery_delay"], "mood": "anxious", "urgency": 5},
                                 [{"text": "非常抱歉让您久等了，我马上帮您催件，您看可以吗？", "score": 1}], "快递到底什么时候到",
                                 at=_minutes_ago(store, 5))
    agent.wait_for_function("() => document.title.startsWith('【超时】(2) ')")
    agent.wait_for_selector("body.overdue #alert-state:not([hidden])")
    assert agent.inner_text("#alert-state") == "1 位顾客等待超过 3:00"
    assert agent.get_attribute("#favicon", "href") == "/static/favicon-alert.svg"
    agent.wait_for_function("() => window.__notified.filter(n => n.title === '顾客已等待超过 3:00').length === 1")
    assert agent.evaluate("window.__notified.find(n => n.title === '顾客已等待超过 3:00').body") == "快递到底什么时候到"
    agent.wait_for_timeout(1500)  # the timer ticks: still told only once
    assert agent.evaluate("window.__notified.filter(n => n.title === '顾客已等待超过 3:00').length") == 1

    # Answered: the badge goes back down and the red state ends.
    draft = store.cases.get_case(late["id"])["drafts"][0]
    store.decisions.decide(late["id"], "xiaowang", "approve", draft_id=draft["id"])
    agent.wait_for_function("() => !document.title.startsWith('【超时】')")
    assert agent.locator("body.overdue").count() == 0

    # The sound choice survives a reload; off means no beep.
    agent.reload()
    agent.wait_for_selector("#live.on")
    assert agent.is_checked("#alert-sound")
    agent.uncheck("#alert-sound")
    assert agent.evaluate("localStorage.getItem('kefu.alerts.sound')") == "off"
    assert agent.errors == [] and shopper.errors == []


def _page_with(pages, script):
    page = pages()
    page.add_init_script(script)
    return page


def _minutes_ago(store, minutes):
    from assist.store.db import now

    return now() - timedelta(minutes=minutes)


def test_a_transfer_between_two_signed_in_agents_carries_the_note(stack, store, agents, pages):
    sender = signed_in(pages, stack, "xiaowang")
    shopper, session, case = customer_with_case(pages, stack, store, "我要退款，东西质量太差了")
    open_case_in(sender, case["id"])
    eventually(lambda: store.claims.claimed_by(case["id"]) == "xiaowang")
    # The colleague is signed in too, in another tab, with notifications allowed; the case is not in her queue.
    receiver = signed_in(lambda: _page_with(pages, AWAY), stack, "xiaoli")
    receiver.click("#alert-notify")
    receiver.wait_for_selector("#alert-notify[data-permission=granted]")
    assert receiver.locator(f".queue-item[data-case-id='{case['id']}']").count() == 0

    sender.keyboard.press("t")
    sender.wait_for_selector("#transferer:not([hidden])")
    assert sender.evaluate("document.activeElement.id") == "transfer-to"
    options = texts(sender, "#transfer-to option")
    assert "xiaoli" in options and "laozhang（主管）" in options and "xiaowang" not in options
    sender.select_option("#transfer-to", "xiaoli")
    note = "顾客要退款，订单已核实，请跟进退款进度"
    sender.fill("#transfer-note", "")
    sender.press("#transfer-note", "Enter")
    sender.wait_for_function("() => document.querySelector('#notice').textContent.includes('交接说明')")
    assert store.claims.claimed_by(case["id"]) == "xiaowang"  # not without a note
    sender.fill("#transfer-note", note)
    sender.press("#transfer-note", "Enter")

    # The sender's console lets it go; the receiver's shows it with who sent it and the note.
    sender.wait_for_selector(f".queue-item[data-case-id='{case['id']}']", state="detached")
    assert "已转交给 xiaoli" in sender.inner_text("#case")
    item = receiver.locator(f".queue-item[data-case-id='{case['id']}']")
    item.wait_for()
    assert item.locator(".tag.handed").inner_text() == "xiaowang 转交" and item.locator(".tag.handed").get_attribute("title") == note
    receiver.wait_for_function("() => window.__notified.some(n => n.title === 'xiaowang 转交给您一个会话')")
    assert receiver.evaluate("window.__notified.find(n => n.title === 'xiaowang 转交给您一个会话').body") == note
    open_case_in(receiver, case["id"])
    receiver.wait_for_selector("#handover-note:not([hidden])")
    assert receiver.inner_text("#handover-note").startswith(f"xiaowang 转交给您：{note}")
    save_screenshot(receiver, "console-transfer.png")
    recorded = store.claims.handovers(case["id"])[-1]
    assert (recorded["kind"], recorded["from"], recorded["to"], recorded["by"], recorded["note"]) == ("transfer", "xiaowang", "xiaoli", "xiaowang", note)

    # The receiver answers; the sender can no longer.
    draft = texts(receiver, "#drafts .draft-text")[0]
    receiver.keyboard.press("Enter")
    wait_for_text(shopper, ".bubble.agent .text", draft)
    assert store.cases.get_case(case["id"])["decisions"][-1]["agent"] == "xiaoli"
    assert sender.errors == [] and receiver.errors == [] and shopper.errors == []


def test_a_supervisor_sees_every_agents_load_and_reassigns_a_case(stack, store, agents, pages):
    situation = {"intent": "delivery_delay", "concerns": ["delivery_delay"], "mood": "angry", "urgency": 8}
    drafts = [{"text": "非常抱歉让您久等了，我马上帮您催件，您看可以吗？", "score": 1}]
    held = [store.cases.open_case(f"team-{uuid.uuid4()}", situation, drafts, words)["id"] for words in ("快递还没到！", "一个礼拜了！！")]
    for case_id in held:
        store.claims.claim_case(case_id, "xiaowang")
    waiting = store.cases.open_case(f"team-{uuid.uuid4()}", situation, drafts, "有人吗", at=_minutes_ago(store, 4))["id"]

    boss = signed_in(pages, stack, "laozhang")  # a supervisor's console opens no case by itself
    boss.goto(f"{stack.console_url}/team")
    boss.wait_for_selector("#load tr[data-agent='xiaowang']")
    row = {name: boss.locator(f"#load tr[data-agent='{name}'] td").all_inner_texts() for name in ("xiaowang", "xiaoli", "laozhang")}
    assert row["xiaowang"][1:4] == ["客服", "2", "2"] and row["xiaoli"][2] == "0" and row["laozhang"][1] == "主管"
    shared = boss.locator("#load tbody tr:last-child td").all_inner_texts()
    assert shared[0] == "共享队列（待接待）" and shared[2] == "1" and shared[5] == "1"  # one waiting past the red limit
    boss.wait_for_selector(f"#cases li[data-case-id='{waiting}']")
    assert boss.locator("#cases li").count() == 3  # every open case

    item = boss.locator(f"#cases li[data-case-id='{held[0]}']")
    assert "xiaowang 接待中" in item.inner_text()
    item.locator("select.reassign-to").select_option("xiaoli")
    item.locator("input.reassign-note").fill("小王这边太忙，这单请你接")
    item.locator("button.reassign-go").click()
    boss.wait_for_function("() => document.querySelector('#notice').textContent === '已改派给 xiaoli'")
    boss.wait_for_selector(f"#cases li[data-case-id='{held[0]}'][data-holder='xiaoli']")
    boss.wait_for_function("() => [...document.querySelectorAll(\"#load tr[data-agent='xiaoli'] td\")][2].textContent === '1'")
    save_screenshot(boss, "team.png")
    moved = store.claims.handovers(held[0])[-1]
    assert (moved["kind"], moved["from"], moved["to"], moved["by"], moved["note"]) == ("reassign", "xiaowang", "xiaoli", "laozhang", "小王这边太忙，这单请你接")

    # The receiving agent sees it with the supervisor's note; the supervisor reads the figures.
    receiver = signed_in(pages, stack, "xiaoli")
    receiver.wait_for_selector(f".queue-item[data-case-id='{held[0]}'] .tag.handed")
    assert receiver.locator(f".queue-item[data-case-id='{held[0]}'] .tag.handed").inner_text() == "laozhang 主管改派"
    boss.click("nav a[href='/history']")
    boss.wait_for_selector("#figures:not([hidden]) #by-concern")
    assert boss.errors == [] and receiver.errors == []
