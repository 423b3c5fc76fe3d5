"""The invariants of the scale-out proof, checked after a load run (kefu_rasa/dev/scale.py).

Each check returns a list of problems, one line each (empty: it holds):
- trackers: every customer message is in exactly one tracker — its conversation's — once, in order;
- cases: every conversation has exactly one case (no second one opened by a race), holding its
  messages from the one that opened it on, in order, each once;
- replies: every approved text reached its customer exactly once (after the client dropped
  repeated ids), as approved, and its delivery is recorded as delivered;
- holding: every customer whose message opened a case heard something back (not silence; how soon is
  a figure for the bench, not a check);
- finished: every shopper finished and everything settled (no deadlock);
- consoles: the consoles' queues agree.
"""
from __future__ import annotations

import time
from collections import Counter
from typing import Dict, List

import requests
import sqlalchemy as sa

from assist.integrations.rasa import auth_header, delivery_key
from assist.store import SuggestionStore
from assist.store.schema import cases, deliveries, messages
from kefu_rasa.dev.scale import Outcome
from kefu_rasa.dev.scale_cluster import Cluster, route
from kefu_rasa.dev.scale_load import ScaleInbox, user_texts


def check_trackers(cluster: Cluster, outcome: Outcome) -> List[str]:
    problems = []
    header = auth_header(cluster.instances[0].secret)
    for conversation in outcome.conversations:
        server = route(conversation.conversation_id, cluster.rasa_urls)[0]
        response = requests.get(f"{server}/conversations/{conversation.conversation_id}/tracker", headers=header, timeout=30)
        response.raise_for_status()
        texts = user_texts(response.json())
        sent = [s.text for s in conversation.sent if s.answered_at]
        if texts != sent:
            problems.append(f"{conversation.conversation_id}: tracker has {texts}, the customer sent {sent}")
    return problems


def _cases_by_conversation(store_url: str, ids: List[str]) -> Dict[str, List[dict]]:
    engine = SuggestionStore(store_url).engine
    found: Dict[str, List[dict]] = {i: [] for i in ids}
    with engine.connect() as db:
        rows = db.execute(sa.select(cases.c.id, cases.c.conversation_id).where(cases.c.conversation_id.in_(ids))).all()
        texts: Dict[str, List[str]] = {row.id: [] for row in rows}
        for m in db.execute(sa.select(messages.c.case_id, messages.c.text).where(
                messages.c.case_id.in_(list(texts)), messages.c.sender == "customer").order_by(messages.c.id)):
            texts[m.case_id].append(m.text)
    for row in rows:
        found[row.conversation_id].append({"id": row.id, "customer_texts": texts[row.id]})
    return found


def check_cases(cluster: Cluster, outcome: Outcome) -> List[str]:
    """Each problem line names its kind after the conversation id: `N cases`, `twice`, `out of order`, `missing`."""
    problems = []
    by_conversation = _cases_by_conversation(cluster.store_url, [c.conversation_id for c in outcome.conversations])
    for conversation in outcome.conversations:
        found = by_conversation[conversation.conversation_id]
        sent = [s.text for s in conversation.sent if s.answered_at]
        if len(found) != 1:
            problems.append(f"{conversation.conversation_id}: {len(found)} cases (expected one)")
            continue
        texts = found[0]["customer_texts"]
        kind = case_problem(texts, sent)
        if kind:
            problems.append(f"{conversation.conversation_id}: {kind}: the case holds {texts}, the customer sent {sent}")
    return problems


def case_problem(texts: List[str], sent: List[str]) -> str:
    """'' when the case holds the customer's messages from the one that opened it on, each once, in order."""
    if not texts or any(t not in sent for t in texts):
        return "missing" if not texts else "not sent"
    if len(set(texts)) != len(texts):
        return "twice"
    expected = sent[min(sent.index(t) for t in texts):]
    if set(texts) != set(expected):
        return "missing"
    return "out of order" if texts != expected else ""


def check_replies(cluster: Cluster, outcome: Outcome) -> List[str]:
    inbox: ScaleInbox = cluster.inbox  # type: ignore[assignment]
    problems = []
    engine = SuggestionStore(cluster.store_url).engine
    with engine.connect() as db:
        rows = {row.decision_id: row for row in db.execute(sa.select(deliveries).where(
            deliveries.c.decision_id.in_([a.decision_id for a in outcome.approvals])))}
    for approval in outcome.approvals:
        row = rows.get(approval.decision_id)
        if row is None:
            problems.append(f"{approval.conversation_id}: decision {approval.decision_id} has no delivery")
            continue
        key = delivery_key(row.id)
        seen = [text for _, text, k, _ in inbox.shown(approval.conversation_id) if k == key]
        if seen != [approval.text]:
            problems.append(f"{approval.conversation_id}: approved {approval.text!r}, the customer saw {seen}")
        if row.state != "delivered":
            problems.append(f"{approval.conversation_id}: delivery {key} is {row.state} ({row.last_error})")
    return problems


def check_holding(cluster: Cluster, outcome: Outcome) -> List[str]:
    """The message that opened each case got a first answer (a holding message, not silence)."""
    inbox: ScaleInbox = cluster.inbox  # type: ignore[assignment]
    problems = []
    by_conversation = _cases_by_conversation(cluster.store_url, [c.conversation_id for c in outcome.conversations])
    for conversation in outcome.conversations:
        found = by_conversation[conversation.conversation_id]
        if not found or not found[0]["customer_texts"]:
            continue
        opener = next((s for s in conversation.sent if s.text == found[0]["customer_texts"][0]), None)
        if opener is None:
            continue
        answers = [at for at, _, _, sender in inbox.shown(conversation.conversation_id)
                   if sender != "agent" and at >= opener.asked_at]
        if not answers:
            problems.append(f"{conversation.conversation_id}: {opener.text!r} opened a case and was never answered")
    return problems


def longest_silence(cluster: Cluster, outcome: Outcome) -> float:
    """The longest a shopper waited for a first answer to a message that was answered (a figure, not a check)."""
    inbox: ScaleInbox = cluster.inbox  # type: ignore[assignment]
    longest = 0.0
    for conversation in outcome.conversations:
        shown = inbox.shown(conversation.conversation_id)
        for sent in conversation.sent:
            first = next((at for at, _, _, sender in shown if sender != "agent" and at >= sent.asked_at), None)
            if first is not None and sent.answered_at and first <= sent.answered_at:
                longest = max(longest, first - sent.asked_at)
    return longest


def check_finished(outcome: Outcome) -> List[str]:
    problems = [f"{c.conversation_id}: {c.failed}" for c in outcome.conversations if c.failed or not c.done]
    problems += [f"not settled: {line}" for line in outcome.unsettled]
    return problems


def refused_while_down(outcome: Outcome) -> List[str]:
    """While a store was down (the fault's window), a customer who wrote was asked to retry (503),
    and not answered (200) from an empty tracker: every 200 of the window must be a message that is in its
    tracker (check_trackers), and at least one customer must have been refused."""
    problems = []
    for window in outcome.windows:
        tries = [(conversation.conversation_id, outcome_) for conversation in outcome.conversations
                 for sent in conversation.sent for at, outcome_ in sent.attempts
                 if window.began <= at <= (window.ended or at)]
        answers = Counter(o for _, o in tries)
        if not answers["503"]:
            problems.append(f"{window.name}: {len(tries)} tries while it lasted, none asked to retry (503); "
                            f"answers: {dict(answers)}")
    return problems


def console_queues(cluster: Cluster, token: str) -> List[list]:
    return [[(c["id"], c["batch"]) for c in requests.get(f"{url}/api/cases", headers={"Authorization": f"Bearer {token}"},
                                                         timeout=30).json()["cases"]]
            for url in cluster.console_urls]


def check_consoles(cluster: Cluster, attempts: int = 10) -> List[str]:
    """A supervisor (who sees every open case) reads the queue on each console: the same cases, in the same order."""
    token = SuggestionStore(cluster.store_url).agents.create_agent("scale-supervisor", role="supervisor")
    queues: List[list] = []
    for _ in range(attempts):
        queues = console_queues(cluster, token)
        if all(q == queues[0] for q in queues):
            return []
        time.sleep(1)  # a case's order may change between the two reads (urgency, waiting time)
    return [f"the consoles' queues differ: {[len(q) for q in queues]} cases; "
            f"only on one: {sorted(set(queues[0]) ^ set(queues[-1]))[:5]}"]


def check_all(cluster: Cluster, outcome: Outcome) -> Dict[str, List[str]]:
    return {
        "finished": check_finished(outcome),
        "trackers": check_trackers(cluster, outcome),
        "cases": check_cases(cluster, outcome),
        "replies": check_replies(cluster, outcome),
        "holding": check_holding(cluster, outcome),
        "consoles": check_consoles(cluster),
    }
