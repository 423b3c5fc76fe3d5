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
from kefu_rasa.callback_inbox import CallbackInbox  # noqa: E402
from kefu_rasa.model_cache import ensure_model  # noqa: E402
from kefu_rasa.servers import free_port, start_stack  # noqa: E402

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


def wait(predicate, timeout=30, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    model = ensure_model(log=lambda m: print(m, file=sys.stderr))
    inbox = CallbackInbox()
    workdir = Path(tempfile.mkdtemp(prefix="kefu-e2e-"))
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    credentials["callback"] = {"url": inbox.url}
    (workdir / "credentials.yml").write_text(yaml.safe_dump(credentials), encoding="utf-8")
    print("starting Rasa, the action server and the console…", file=sys.stderr)
    stack = start_stack(
        model, workdir / "run", data_dir=workdir / "data", credentials=workdir / "credentials.yml",
        rasa_port=free_port(), actions_port=free_port(), console_port=free_port(), token=uuid.uuid4().hex,
        extra_env={"KEFU_WAIT_UPDATE_SECONDS": "3600"},
    )
    store = SuggestionStore(stack.store_url)
    token = store.create_agent("bench-agent")
    headers = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    senders = [f"bench-{i}-{uuid.uuid4().hex[:6]}" for i in range(args.conversations)]
    to_case, to_join, to_deliver, failures = [], [], [], []

    def send(sender, text):
        response = session.post(f"{stack.rasa_url}/webhooks/callback/webhook", json={"sender": sender, "message": text}, timeout=60)
        response.raise_for_status()

    def conversation(i_sender):
        i, sender = i_sender
        started = time.monotonic()
        send(sender, OPENERS[i % len(OPENERS)].format(n=1000000000 + i))
        case = wait(lambda: store.open_case_for(sender))
        if not case:
            failures.append(f"{sender}: no case")
            return
        to_case.append((time.monotonic() - started) * 1000)
        started = time.monotonic()
        send(sender, FOLLOW_UPS[i % len(FOLLOW_UPS)])
        joined = wait(lambda: (c := store.open_case_for(sender)) and c["batch"] >= 2 and c)
        if not joined:
            failures.append(f"{sender}: follow-up never joined")
            return
        to_join.append((time.monotonic() - started) * 1000)

    try:
        began = time.monotonic()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(conversation, enumerate(senders)))
        messages_seconds = time.monotonic() - began

        def approve(sender):
            case = store.get_case(store.open_case_for(sender)["id"])
            draft = case["drafts"][0]
            started = time.monotonic()
            response = session.post(
                f"{stack.console_url}/api/cases/{case['id']}/approve", headers=headers, timeout=30,
                json={"draft_id": draft["id"], "batch": case["batch"], "resolve": True},
            )
            if response.status_code != 201:
                failures.append(f"{sender}: approve {response.status_code}")
                return
            arrived = wait(lambda: inbox.arrival(sender, draft["text"]))
            if not arrived:
                failures.append(f"{sender}: approved text never arrived")
                return
            to_deliver.append((arrived - started) * 1000)

        began_approvals = time.monotonic()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(approve, [s for s in senders if store.open_case_for(s)]))
        approvals_seconds = time.monotonic() - began_approvals
        time.sleep(2)  # let any duplicate arrive before counting
    finally:
        stack.stop()
        inbox.close()

    duplicated = sum(
        1 for s in senders for text in set(inbox.texts(s)) if inbox.texts(s).count(text) > 1
    )
    sent = 2 * len(senders)
    print(f"# End-to-end benchmark — {len(senders)} conversations, {args.workers} concurrent clients\n")
    print(f"command: `.venv/bin/python bench/e2e.py --conversations {args.conversations} --workers {args.workers}` · "
          f"{time.strftime('%Y-%m-%d %H:%M')} · SQLite stores, one Rasa, one action server, one console\n")
    print("| path | n | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|")
    print(row("customer message → case with drafts in the store", to_case))
    print(row("follow-up while paused → joined the case, new drafts", to_join))
    print(row("agent approves → text delivered to the customer", to_deliver))
    print()
    print("| figure | value |\n|---|---:|")
    print(f"| customer messages handled | {sent} in {messages_seconds:.1f} s ({sent / messages_seconds:.1f} msg/s) |")
    print(f"| approvals delivered | {len(to_deliver)} in {approvals_seconds:.1f} s ({len(to_deliver) / approvals_seconds:.1f} /s) |")
    print(f"| lost (no case, not joined, not delivered) | {len(failures)} |")
    print(f"| duplicated deliveries | {duplicated} |")
    for failure in failures[:10]:
        print(f"  {failure}", file=sys.stderr)
    return 0 if not failures and not duplicated else 1


if __name__ == "__main__":
    sys.exit(main())
