"""End-to-end benchmark of the agent-assist loop with the real processes on loopback.

Many concurrent customers (Rasa's callback channel) each send a message that needs a person
and then a follow-up; an agent approves a draft for each case through the console API.
Measured: message → case with drafts in the store, follow-up → joined the case with new
drafts, approve → text delivered to the customer; throughput; lost or duplicated messages.

    .venv/bin/python bench/e2e.py [--conversations 100] [--workers 8]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from assist.store import SuggestionStore  # noqa: E402
from kefu_rasa.dev.callback_inbox import CallbackInbox  # noqa: E402
from kefu_rasa.dev.model_cache import ensure_model  # noqa: E402
from kefu_rasa.dev.servers import free_port, start_stack, wait_until  # noqa: E402

# Our own phrasing, one per concern that needs a person.
OPENERS = [
    "快递都一个星期了还没到，订单号{n}，到底怎么回事",
    "你们这东西质量太差了，用两天就坏了，我要投诉",
    "老板这件能不能便宜点，两件包邮行不行",
    "我要退货退款，尺码完全不对",
    "转人工，别让机器人糊弄我",
    "物流三天没更新了，赶紧帮我催一下！！",
]
FOLLOW_UPS = ["人呢？", "麻烦快点处理一下", "在吗在吗", "我等着呢"]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def row(name, values_ms):
    return f"| {name} | {len(values_ms)} | {statistics.median(values_ms):.0f} | {percentile(values_ms, 0.95):.0f} | {max(values_ms):.0f} |"


def wait(predicate):
    return wait_until(predicate, timeout=30, interval=0.02)


class Loop:
    """One running stack plus the clients that talk to it."""

    def __init__(self, stack, store, inbox, token):
        self.stack, self.store, self.inbox = stack, store, inbox
        self.headers = {"Authorization": f"Bearer {token}"}
        self.session = requests.Session()
        self.to_case, self.to_join, self.to_deliver, self.failures = [], [], [], []

    def send(self, sender, text):
        response = self.session.post(
            f"{self.stack.rasa_url}/webhooks/callback/webhook", json={"sender": sender, "message": text}, timeout=60
        )
        response.raise_for_status()

    def opener(self, i, sender):
        started = time.monotonic()
        self.send(sender, OPENERS[i % len(OPENERS)].format(n=1000000000 + i))
        if wait(lambda: self.store.cases.open_case_for(sender)):
            self.to_case.append((time.monotonic() - started) * 1000)
        else:
            self.failures.append(f"{sender}: no case")

    def follow_up(self, i, sender):
        started = time.monotonic()
        self.send(sender, FOLLOW_UPS[i % len(FOLLOW_UPS)])
        if wait(lambda: (c := self.store.cases.open_case_for(sender)) and c["batch"] >= 2 and c):
            self.to_join.append((time.monotonic() - started) * 1000)
        else:
            self.failures.append(f"{sender}: follow-up never joined")

    def approve(self, sender):
        opened = self.store.cases.open_case_for(sender)
        if not opened:
            return
        case = self.store.cases.get_case(opened["id"])
        draft = case["drafts"][0]
        started = time.monotonic()
        response = self.session.post(
            f"{self.stack.console_url}/api/cases/{case['id']}/approve", headers=self.headers, timeout=30,
            json={"draft_id": draft["id"], "batch": case["batch"], "resolve": True},
        )
        if response.status_code != 201:
            self.failures.append(f"{sender}: approve {response.status_code}")
            return
        arrived = wait(lambda: self.inbox.arrival(sender, draft["text"]))
        if arrived:
            self.to_deliver.append((arrived - started) * 1000)
        else:
            self.failures.append(f"{sender}: approved text never arrived")

    def duplicated(self, senders):
        """Texts that reached a client more than once, counted before the client drops a repeated id."""
        return sum(1 for s in senders for text in set(self.inbox.raw_texts(s)) if self.inbox.raw_texts(s).count(text) > 1)


def paced(calls, rate, pool_size=64):
    """Open-loop load: call i starts at i / rate seconds, whether or not earlier calls finished."""
    began = time.monotonic()

    def at(item):
        index, fn = item
        delay = began + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        fn()

    with ThreadPoolExecutor(pool_size) as pool:
        list(pool.map(at, enumerate(calls)))
    return time.monotonic() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100, help="paced phase: conversations (2 messages each)")
    parser.add_argument("--rate", type=float, default=8.0, help="paced phase: customer messages per second offered")
    parser.add_argument("--saturate", type=int, default=60, help="saturation phase: conversations, as fast as they go")
    parser.add_argument("--workers", type=int, default=8, help="saturation phase: concurrent clients")
    args = parser.parse_args()

    model = ensure_model(log=lambda m: print(m, file=sys.stderr))
    inbox = CallbackInbox()
    workdir = Path(tempfile.mkdtemp(prefix="kefu-e2e-"))
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    credentials["kefu_rasa.channels.CallbackInput"] = {"url": inbox.url}
    (workdir / "credentials.yml").write_text(yaml.safe_dump(credentials), encoding="utf-8")
    print("starting Rasa, the action server and the console…", file=sys.stderr)
    stack = start_stack(
        model, workdir / "run", data_dir=workdir / "data", credentials=workdir / "credentials.yml",
        rasa_port=free_port(), actions_port=free_port(), console_port=free_port(), secret=uuid.uuid4().hex,
        extra_env={"KEFU_WAIT_UPDATE_SECONDS": "3600"},
    )
    store = SuggestionStore(stack.store_url)
    loop = Loop(stack, store, inbox, store.agents.create_agent("bench-agent"))
    saturated = Loop(stack, store, inbox, store.agents.create_agent("bench-agent-2"))
    try:
        # Paced: each conversation opens, and writes again 1 s later while it waits for a person.
        senders = [f"paced-{i}-{uuid.uuid4().hex[:6]}" for i in range(args.conversations)]
        calls = []
        for i, sender in enumerate(senders):
            calls.append(lambda i=i, s=sender: loop.opener(i, s))
        schedule = sorted(
            [(2 * i / args.rate, fn) for i, fn in enumerate(calls)]
            + [(2 * i / args.rate + 1.0, (lambda i=i, s=s: loop.follow_up(i, s))) for i, s in enumerate(senders)],
            key=lambda pair: pair[0],
        )
        began = time.monotonic()

        def run_at(pair):
            when, fn = pair
            delay = began + when - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            fn()

        with ThreadPoolExecutor(64) as pool:
            list(pool.map(run_at, schedule))
        paced_seconds = time.monotonic() - began
        approve_seconds = paced([lambda s=s: loop.approve(s) for s in senders], args.rate)

        # Saturation: closed loop, as fast as the stack answers, counting loss and duplicates.
        hot = [f"hot-{i}-{uuid.uuid4().hex[:6]}" for i in range(args.saturate)]
        began = time.monotonic()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(lambda p: (saturated.opener(*p), saturated.follow_up(*p)), enumerate(hot)))
        hot_seconds = time.monotonic() - began
        began = time.monotonic()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(saturated.approve, hot))
        hot_approve_seconds = time.monotonic() - began
        time.sleep(2)  # let any duplicate arrive before counting
    finally:
        stack.stop()
        inbox.close()

    print(f"# End-to-end benchmark — the agent-assist loop on loopback\n")
    print(f"command: `.venv/bin/python bench/e2e.py --conversations {args.conversations} --rate {args.rate:g} "
          f"--saturate {args.saturate} --workers {args.workers}` · {time.strftime('%Y-%m-%d %H:%M')} · "
          "SQLite stores (WAL), one Rasa, one action server, one console, 2 cores shared with the load generator\n")
    print(f"Paced load: {args.rate:g} customer messages/s offered ({args.conversations} conversations, an opener and a "
          f"follow-up 1 s later), then approvals at {args.rate:g}/s.\n")
    print("| path | n | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|")
    print(row("customer message → case with drafts in the store", loop.to_case))
    print(row("follow-up while paused → joined the case, new drafts", loop.to_join))
    print(row("agent approves → text delivered to the customer", loop.to_deliver))
    print(f"\nSaturation: {args.workers} clients in a closed loop, {args.saturate} conversations.\n")
    print("| figure | paced | saturation |\n|---|---:|---:|")
    print(f"| customer messages per second sustained | {2 * len(senders) / paced_seconds:.1f} | {2 * len(hot) / hot_seconds:.1f} |")
    print(f"| approvals delivered per second | {len(loop.to_deliver) / approve_seconds:.1f} | {len(saturated.to_deliver) / hot_approve_seconds:.1f} |")
    print(f"| message → case p95 ms | {percentile(loop.to_case, 0.95):.0f} | {percentile(saturated.to_case, 0.95):.0f} |")
    print(f"| approve → delivered p95 ms | {percentile(loop.to_deliver, 0.95):.0f} | {percentile(saturated.to_deliver, 0.95):.0f} |")
    print(f"| lost (no case, not joined, not delivered) | {len(loop.failures)} | {len(saturated.failures)} |")
    print(f"| duplicated deliveries | {loop.duplicated(senders)} | {saturated.duplicated(hot)} |")
    for failure in (loop.failures + saturated.failures)[:10]:
        print(f"  {failure}", file=sys.stderr)
    lost = loop.failures + saturated.failures
    return 0 if not lost and not loop.duplicated(senders) and not saturated.duplicated(hot) else 1


if __name__ == "__main__":
    sys.exit(main())
