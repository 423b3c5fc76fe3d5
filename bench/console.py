"""Browser benchmark of the agents' console and the customer's web chat, in headless Chromium
against the real processes on loopback (Rasa, action server, console as `make run` starts them).

Measured in the browser, one clock for both pages:
- customer message → case visible in an open console: a web-chat customer's page records when
  it emits the message; the signed-in console records when the case's row appears in its queue
  (a MutationObserver on the live list). Paced: one customer at a time, 50 by default.
- page weight (bytes over the wire, cold cache) and first paint / first contentful paint of
  the console and of the web chat.

    .venv/bin/python bench/console.py [--cases 50]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from assist.store import SuggestionStore  # noqa: E402
from assist.settings import get_settings  # noqa: E402
from console.passwords import hash_password  # noqa: E402
from kefu_rasa.dev.model_cache import ensure_model  # noqa: E402
from kefu_rasa.dev.servers import free_port, start_stack  # noqa: E402

PASSWORD = "bench-password"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
# Our own phrasing, each needs a person.
OPENERS = [
    "你们这什么破快递，一个礼拜了还不到！",
    "东西用两天就坏了，我要投诉",
    "我要退货退款，尺码完全不对",
    "物流三天没更新了，赶紧帮我催一下！！",
    "转人工，别让机器人糊弄我",
]

# In the console page: remember when each conversation's row first appears in the queue.
WATCH_QUEUE = """() => {
    window.__seen = {};
    const list = document.getElementById("queue-list");
    const mark = () => {
        for (const row of list.querySelectorAll(".queue-item")) {
            const id = row.dataset.conversation;
            if (!(id in window.__seen)) window.__seen[id] = Date.now();
        }
    };
    new MutationObserver(mark).observe(list, {childList: true, subtree: true});
    mark();
}"""

# In the customer's page: a fresh web-chat session on Rasa's socket.io, like a new visitor's.
SEND_AS_NEW_CUSTOMER = """async ([rasa, path, text]) => {
    const sessionId = crypto.randomUUID();
    const socket = io(rasa, {path, transports: ["websocket"]});
    await new Promise((resolve, reject) => {
        socket.on("connect", () => socket.emit("session_request", {session_id: sessionId}));
        socket.on("session_confirm", resolve);
        setTimeout(() => reject(new Error("no session_confirm")), 10000);
    });
    const sentAt = Date.now();
    socket.emit("user_uttered", {message: text, session_id: sessionId});
    window.__sockets = (window.__sockets || []).concat([socket]);
    return {sessionId, sentAt};
}"""

PAGE_FIGURES = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const paint = Object.fromEntries(performance.getEntriesByType("paint").map(p => [p.name, p.startTime]));
    return {
        bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
        decoded: nav.decodedBodySize + resources.reduce((sum, r) => sum + r.decodedBodySize, 0),
        requests: 1 + resources.length,
        first_paint: paint["first-paint"], first_contentful_paint: paint["first-contentful-paint"],
        dom_ready: nav.domContentLoadedEventEnd,
    };
}"""


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = (len(ordered) - 1) * q
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def find_chromium():
    for name in (get_settings().chromium, "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def sign_in(context, console_url):
    page = context.new_page()
    page.goto(f"{console_url}/login")
    page.fill("#name", "bench")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{console_url}/")
    page.wait_for_selector("#live.on")
    return page


def page_weight(browser, console_url, storage_state, path, ready):
    """A cold load (new context, empty cache) of one page."""
    context = browser.new_context(storage_state=storage_state, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{console_url}{path}", wait_until="load")
    page.wait_for_selector(ready)
    figures = page.evaluate(PAGE_FIGURES)
    context.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium: run scripts/install_browser.sh", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="kefu-bench-console-"))
    stack = start_stack(ensure_model(), workdir, data_dir=workdir / "data", rasa_port=free_port(), actions_port=free_port(),
                        console_port=free_port(), secret=uuid.uuid4().hex, extra_env={"KEFU_WAIT_UPDATE_SECONDS": "3600"})
    try:
        store = SuggestionStore(stack.store_url)
        store.agents.create_agent("bench")
        store.agents.set_password_hash("bench", hash_password(PASSWORD))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            agent_context = browser.new_context(viewport={"width": 1280, "height": 800})
            console = sign_in(agent_context, stack.console_url)
            console.evaluate(WATCH_QUEUE)
            customer = browser.new_page()
            customer.goto(f"{stack.console_url}/chat")
            customer.wait_for_selector("body[data-ready=true]")
            latencies, lost = [], 0
            for n in range(args.cases):
                sent = customer.evaluate(SEND_AS_NEW_CUSTOMER, [stack.rasa_url, "/socket.io", OPENERS[n % len(OPENERS)]])
                try:
                    console.wait_for_function("id => id in window.__seen", arg=sent["sessionId"], timeout=20_000)
                except Exception:
                    lost += 1
                    continue
                latencies.append(console.evaluate("id => window.__seen[id]", sent["sessionId"]) - sent["sentAt"])
            state = agent_context.storage_state()
            weights = {
                "console": page_weight(browser, stack.console_url, state, "/", "#live.on"),
                "web chat": page_weight(browser, stack.console_url, None, "/chat", "body[data-ready=true]"),
            }
            browser.close()
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nconsole benchmark — {args.cases} web-chat customers, one at a time, headless Chromium, loopback\n")
    print("| customer message → case in an open console | n | p50 ms | p95 ms | max ms | lost |")
    print("|---|---|---|---|---|---|")
    if latencies:
        print(f"| measured in the browser | {len(latencies)} | {statistics.median(latencies):.0f} | "
              f"{percentile(latencies, 0.95):.0f} | {max(latencies):.0f} | {lost} |")
    print("\n| page (cold cache) | requests | bytes over the wire | bytes decoded | first paint ms | first contentful paint ms | DOM ready ms |")
    print("|---|---|---|---|---|---|---|")
    for name, w in weights.items():
        print(f"| {name} | {w['requests']} | {w['bytes']:,} | {w['decoded']:,} | {w['first_paint']:.0f} | "
              f"{w['first_contentful_paint']:.0f} | {w['dom_ready']:.0f} |")
    print(f"\ncommand: .venv/bin/python bench/console.py --cases {args.cases}")
    return 0 if not lost else 1


if __name__ == "__main__":
    sys.exit(main())
