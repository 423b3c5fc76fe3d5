"""Replay real dialogues through the running stack, turn by turn (../shared/JUDGING.md §The replay).

Starts the real Rasa, action server and console (kefu_rasa.dev.servers.start_stack, free loopback
ports, a temporary data directory, the trained model). Each dialogue of ../shared/eval/dialogues.jsonl
(read in place, never copied) gets a fresh sender id; each customer turn goes over Rasa's REST
channel, and the replay waits until the console has processed it: the event follower's bookmark
has passed the message's event, and either an open case holds the message with a batch of drafts
made for it, or there is no case. While a case is open, each real agent turn is sent as the agent's
edit (override), so the customer's next words make sense; without a case the real agent's turns are
skipped (the bot answered instead).

Every turn goes to reports/replay/turns.jsonl (git-ignored: it holds the eval text; what a grader
reads). The tables (bench/replay_checks.py) hold counts and shares only, never a dialogue's text.

    .venv/bin/python bench/replay.py [--dialogues PATH] [--limit N] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import replay_checks as checks  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from assist.settings import get_settings, settings_from  # noqa: E402
from assist.store import SuggestionStore  # noqa: E402
from assist.store.db import make_engine  # noqa: E402

HTTP_TIMEOUT = 120.0      # s, one HTTP call (Rasa runs NLU and the action inside the webhook call)
TURN_TIMEOUT = 180.0      # s, a customer turn processed by the console (2 shared cores)
SETTLE_TIMEOUT = 20.0     # s, once the follower passed the message: the case and its drafts readable
DELIVERY_TIMEOUT = 60.0   # s, an agent's text or a holding message delivered through Rasa
NOT_READING = ("messages", "drafts", "decisions", "deliveries")  # the case JSON's other keys are its reading


def poll(predicate: Callable, timeout: float, interval: float = 0.05, cap: float = 0.5):
    """`predicate()`'s first truthy value, or None after `timeout` s (the interval grows to `cap`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(interval)
        interval = min(cap, interval * 1.5)


def load_dialogues(path: Path) -> List[Dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shop_products(path: Path = ROOT / "data" / "nlu" / "entity_patterns.yml") -> List[str]:
    """The product words of the NLU lookup: naming one counts as giving the product."""
    items = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []
    found = [i.get("examples", "") for i in items if i.get("lookup") == "product"]
    return [line.lstrip("- ").strip() for text in found for line in text.splitlines() if line.strip()]


class StackClient:
    """The customer (Rasa's REST channel), the agent (the console's JSON API) and two read-only looks
    into the stack: Rasa's event stream and the console follower's bookmark in it."""

    def __init__(self, rasa_url: str, console_url: str, agent_token: str, store_url: str, events_url: str):
        self.rasa_url, self.console_url = rasa_url, console_url
        self.http = requests.Session()
        self.headers = {"Authorization": f"Bearer {agent_token}"}
        self.store = SuggestionStore(store_url)
        self.events_engine = make_engine(events_url)
        self.events = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("data"))

    def say(self, sender: str, text: str) -> List[str]:
        response = self.http.post(f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                  timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return [m.get("text") or json.dumps({k: v for k, v in m.items() if k != "recipient_id"}, ensure_ascii=False)
                for m in response.json()]

    def user_events(self, sender: str) -> List[tuple]:
        """(event id, event) of the sender's customer messages, oldest first."""
        try:
            with self.events_engine.connect() as db:
                rows = db.execute(sa.select(self.events.c.id, self.events.c.data)
                                  .where(self.events.c.sender_id == sender).order_by(self.events.c.id)).all()
        except sa.exc.OperationalError:
            return []  # Rasa has not written its first event yet
        parsed = [(row.id, json.loads(row.data)) for row in rows]
        return [(i, e) for i, e in parsed if e.get("event") == "user"]

    def follower_position(self) -> int:
        return self.store.follower.lowest("console")

    def api(self, method: str, path: str, payload: Optional[Dict] = None) -> requests.Response:
        return self.http.request(method, f"{self.console_url}{path}", json=payload, headers=self.headers, timeout=HTTP_TIMEOUT)

    def open_case(self, sender: str) -> Optional[Dict]:
        response = self.api("GET", "/api/cases?state=open")
        response.raise_for_status()
        return next((c for c in response.json()["cases"] if c["conversation_id"] == sender), None)

    def case(self, case_id: str) -> Dict:
        response = self.api("GET", f"/api/cases/{case_id}")
        response.raise_for_status()
        return response.json()


def wait_processed(client: StackClient, sender: str, count: int, text: str, before: Optional[Dict], timeout: float) -> Dict:
    """Wait until the console has processed the sender's `count`-th message: the follower's bookmark
    is past its event, and an open case holds it with a newer batch of drafts, or there is no case."""
    def followed():
        users = client.user_events(sender)
        if len(users) >= count and client.follower_position() >= users[count - 1][0]:
            return users[count - 1]
        return None

    seen = poll(followed, timeout)
    event = seen[1] if seen else ((client.user_events(sender) or [(0, {})])[-1][1])
    key = f"msg:{event.get('message_id')}" if event.get("message_id") else None
    last: Dict = {}

    def settled():
        summary = client.open_case(sender)
        if summary is None:
            return {"case": None}
        detail = last["case"] = client.case(summary["id"])
        mine = any(m["sender"] == "customer" and ((key and m.get("source_key") == key) or m["text"] == text)
                   for m in detail["messages"])
        earlier = before["batch"] if before and before["id"] == detail["id"] else 0
        return {"case": detail} if mine and detail["batch"] > earlier and detail["drafts"] else None

    done = poll(settled, SETTLE_TIMEOUT if seen else 1.0)
    status = "ok" if seen and done else ("follower_timeout" if not seen else "case_without_drafts_for_it")
    return {"status": status, "event": event, "case": (done or last).get("case")}


def pushed_since(client: StackClient, case_id: str, seen: set) -> List[Dict]:
    """Texts the console pushed to the customer (holding message, cancel reply …) not seen yet,
    once delivered; an agent's sends are not counted here."""
    def deliveries():
        detail = client.case(case_id)
        fresh = [d for d in detail["deliveries"] if d["id"] not in seen and d.get("kind") != "agent"]
        return (fresh,) if all(d["state"] != "pending" for d in fresh) else None

    fresh = (poll(deliveries, DELIVERY_TIMEOUT) or ([],))[0]
    seen.update(d["id"] for d in fresh)
    return [{"kind": d.get("kind"), "text": d["text"], "state": d["state"]} for d in fresh if d["text"]]


def send_as_agent(client: StackClient, sender: str, case_id: str, text: str, batch: int, limit: int) -> str:
    """The real agent's text as this case's edit (override), retried once on 409 with the reloaded
    batch; then waits for its delivery. Returns delivered, or what went wrong."""
    body = {"text": text[:limit], "override": True, "batch": batch}
    response = client.api("POST", f"/api/cases/{case_id}/edit", body)
    if response.status_code == 409:
        if (client.open_case(sender) or {}).get("id") != case_id:  # the open list, not a field whose shape may change
            return "case closed"
        response = client.api("POST", f"/api/cases/{case_id}/edit", dict(body, batch=client.case(case_id)["batch"]))
    if response.status_code != 201:
        code = (response.json().get("error") or {}).get("code") if response.headers.get("content-type", "").startswith("application/json") else ""
        return f"failed: {response.status_code} {code}".strip()
    decision = response.json()["decision"]["id"]
    delivered = poll(lambda: any(d.get("decision_id") == decision and d["state"] == "delivered"
                                 for d in client.case(case_id)["deliveries"]), DELIVERY_TIMEOUT)
    return "delivered" if delivered else "not delivered in time"


def replay_dialogue(client: StackClient, dialogue: Dict, products: Sequence[str], turn_timeout: float = TURN_TIMEOUT,
                    edit_limit: int = 1000) -> List[Dict]:
    """Every turn of one dialogue as a record for turns.jsonl."""
    sender = f"replay-{uuid.uuid4().hex[:16]}"
    turns = dialogue.get("turns") or []
    records: List[Dict] = []
    case: Optional[Dict] = None          # the open case after the latest customer turn
    said: List[str] = []                 # the customer's words so far
    sent, seen_deliveries = 0, set()
    for i, turn in enumerate(turns):
        role, text = turn.get("role"), turn.get("text") or ""
        base = {"dialogue": dialogue["id"], "turn": i, "role": role, "text": text, "sender": sender}
        if role == "agent":
            merged = i > 0 and turns[i - 1].get("role") == "agent"
            if merged or case is None:
                outcome = "merged" if merged else None  # no case: the bot answered instead, skipped
            else:
                run = [t.get("text") or "" for t in checks.agent_run(turns, i)]
                outcome = send_as_agent(client, sender, case["id"], "\n".join(r for r in run if r.strip()), case["batch"], edit_limit)
            records.append(dict(base, case_open=case is not None, sent=outcome, gold_response=bool(turn.get("gold_response"))))
            continue
        if role != "customer" or not text.strip():
            records.append(dict(base, skipped=True))
            continue
        started = time.monotonic()
        bot = client.say(sender, text)
        sent += 1
        result = wait_processed(client, sender, sent, text, case, turn_timeout)
        pushed = []
        if case and (result["case"] is None or result["case"]["id"] != case["id"]):
            pushed += pushed_since(client, case["id"], seen_deliveries)  # closed now: its last words
        case = result["case"]
        if case:
            pushed += pushed_since(client, case["id"], seen_deliveries)
        known = checks.given(said + [text], products)
        readable = checks.given(said + [text], products, masks=False)  # not through a corpus mask only
        said.append(text)
        drafts = [{k: d.get(k) for k in ("rank", "text", "reason", "score", "variant_id")} for d in (case or {}).get("drafts", [])]
        parse = checks.event_parse(result["event"])
        record = dict(
            base, bot=bot, pushed=pushed, nlu=parse, case_open=case is not None,
            reading={k: v for k, v in case.items() if k not in NOT_READING} if case else None, drafts=drafts,
            agent_next="\n".join(t.get("text") or "" for t in checks.agent_run(turns, i + 1)),
            heldout_labels=turn.get("heldout_labels") or [], seconds=round(time.monotonic() - started, 3),
        )
        asked_by_bot = checks.asks_for("\n".join(bot + [p["text"] for p in pushed]))
        record["flags"] = {
            "processed": result["status"], "given": sorted(known), "given_readable": sorted(readable),
            "drafts_repeat": [{"rank": d["rank"], "repeated": sorted(checks.asks_for(d["text"]) & known),
                               "readable": sorted(checks.asks_for(d["text"]) & readable)} for d in drafts],
            "bot_repeat": sorted(asked_by_bot & known), "bot_repeat_readable": sorted(asked_by_bot & readable),
            "silent": checks.is_silent(dict(base, bot=bot, pushed=pushed, case_open=case is not None)),
        }
        records.append(record)
    return records


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialogues", type=Path, default=get_settings().eval_dialogues)
    parser.add_argument("--limit", type=int, default=0, help="replay only the first N dialogues")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "replay", help="where turns.jsonl goes")
    parser.add_argument("--stack", action=argparse.BooleanOptionalAction, default=True,
                        help="replay through the running stack (the only mode)")
    parser.add_argument("--turn-timeout", type=float, default=TURN_TIMEOUT)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not args.stack:
        print("replay: only the stack mode exists; the in-process replay skipped Rasa's rules, the action server "
              "and the console, so its figures did not describe the product", file=sys.stderr)
        return 2
    if not args.dialogues.is_file():
        print(f"replay skipped: {args.dialogues} not found (the evaluation data stays outside the project)")
        return 0
    dialogues = load_dialogues(args.dialogues)[: args.limit or None]
    from kefu_rasa.dev.model_cache import ensure_model
    from kefu_rasa.dev.servers import free_port, start_stack

    model = ensure_model(log=lambda m: print(m, file=sys.stderr))
    workdir = Path(tempfile.mkdtemp(prefix="kefu-replay-"))
    print(f"starting Rasa, the action server and the console (logs in {workdir})…", file=sys.stderr)
    began = time.monotonic()
    stack = start_stack(model, workdir / "run", data_dir=workdir / "data", rasa_port=free_port(), actions_port=free_port(),
                        console_port=free_port(), secret=uuid.uuid4().hex, timeout=300,
                        extra_env={"KEFU_WAIT_UPDATE_SECONDS": "3600"})  # the real agents answer, not the timer
    started = time.monotonic() - began
    try:
        records, seconds = run_replay(stack, dialogues, args.out / "turns.jsonl", args.turn_timeout)
    finally:
        stack.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    command = " ".join(["bench/replay.py"] + [a for a in (argv if argv is not None else sys.argv[1:])])
    print(f"command: `.venv/bin/python {command}` · {time.strftime('%Y-%m-%d %H:%M')} · model {model.name.split('.')[0]} · "
          f"{len(dialogues)} dialogues of {args.dialogues.name}, read in place · stack started in {started:.0f} s · "
          f"turns in {args.out / 'turns.jsonl'}\n")
    print("\n".join(checks.tables(checks.figures(records, dialogues, seconds))))
    return 0


def run_replay(stack, dialogues: Sequence[Dict], out: Path, turn_timeout: float = TURN_TIMEOUT, agent: str = "replay-agent"):
    """Replay `dialogues` through a running `stack`; write turns to `out`; (records, seconds)."""
    token = SuggestionStore(stack.store_url).agents.create_agent(f"{agent}-{uuid.uuid4().hex[:6]}")
    settings = settings_from(stack.env)
    client = StackClient(stack.rasa_url, stack.console_url, token, stack.store_url, settings.events_url)
    products, records = shop_products(), []
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with out.open("w", encoding="utf-8") as sink:
        for n, dialogue in enumerate(dialogues, 1):
            turns = replay_dialogue(client, dialogue, products, turn_timeout, settings.max_edit_chars)
            for record in turns:
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            sink.flush()
            records += turns
            print(f"dialogue {n}/{len(dialogues)}: {sum(t['role'] == 'customer' for t in turns)} customer turns, "
                  f"{sum(bool(t.get('case_open')) for t in turns if t['role'] == 'customer')} with a case", file=sys.stderr)
    return records, time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main())
