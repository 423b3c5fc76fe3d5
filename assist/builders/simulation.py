"""A scripted agent with fixed preferences deciding on generated cases: proof that the drafts
learn from decisions (bench/learning.py prints the table, tests/unit/test_learning_sim.py checks it).

Every case goes the production way: situation → compose(acceptance=…) → SuggestionStore
(open_case with drafts, then decide) → Acceptance.from_store, reloaded every `refresh`
cases as the action server's cache does. The agent, 小林, looks at the drafts in rank order
and approves the first that meets all of her preferences; if none does she edits the
closest one, or rejects them all when none comes near:

- a reply to a complaint, late parcel, refund or request for a person names a concrete
  time frame (4小时内, 今天, 3个工作日) — else she adds one;
- when the order number is known, a reply about a parcel, complaint or refund quotes it —
  else she adds it;
- no stock phrase 换作是我 — she rewrites that sentence;
- an angry customer gets a short reply (at most 85 characters) — else she trims it;
- a haggling customer is offered a coupon (元券) — else she adds one.

Customer messages are generated from this module's own phrase lists with a fixed seed. Each
case also carries a made-up NLU reading (a second seeded stream, so the cases stay the same):
about one in ten is unsure (confidence under 0.6) and one in twenty misread, which 小林
corrects in the console — input for `python -m assist mine`'s NLU proposals.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from assist.drafting.composer import Draft, compose
from assist.drafting.acceptance import Acceptance, Prior, template_texts
from assist.shop.policy import Policy, load_policy
from assist.drafting.situation import Situation, build_situation
from assist.store import SuggestionStore
from assist.shop.templates import load_templates

AGENT = "小林(模拟)"
TIME_FRAME = re.compile(r"\d+\s*(?:小时|分钟|个?工作日|天)(?:内|之内)?|今天|明天|\d+点前")
STOCK_PHRASE = "换作是我"
SHORT_FOR_ANGRY = 85
FOLLOW_UP_CONCERNS = ("complaint", "delivery_delay", "refund_return", "request_human")
ORDER_CONCERNS = ("complaint", "delivery_delay", "refund_return")

# Phrases written for this simulation, by concern.
PHRASES: Dict[str, Sequence[str]] = {
    "delivery_delay": ["快递{n}天了还没到", "怎么还没发货啊", "物流{n}天没更新了", "帮我催一下包裹", "说好两天到，现在都{n}天了",
                       "包裹卡在中转站不动了"],
    "complaint": ["收到的杯子是裂的", "客服回消息太慢了", "颜色发错了", "用了一次就坏了，质量太差", "少发了一件"],
    "price_haggle": ["能便宜{n}块吗", "打个九折吧", "两件能不能少点", "太贵了，有券吗", "老顾客有优惠吗"],
    "refund_return": ["我要退货", "退款什么时候到账", "尺码不合适想换货", "东西坏了要退款"],
    "request_human": ["转人工", "我要找真人客服", "是机器人吗，叫人工来"],
}
HEAT = ["", "", "", "！", "，气死我了！！", "，再不处理我就给差评", "，急用", "？？", "，因为页面写着48小时发货，按道理早该发了"]
OPENERS = ["", "你好，", "亲，", "在吗？"]
CARRIERS = ["中通快递", "圆通速递", "顺丰速运"]
# What a misreading NLU takes each concern for.
MISREAD = {"delivery_delay": "order_status", "complaint": "refund_return", "price_haggle": "product_inquiry",
           "refund_return": "complaint", "request_human": "greet"}


def make_case(rng: random.Random) -> Dict[str, Any]:
    concern = rng.choice(list(PHRASES))
    text = rng.choice(OPENERS) + rng.choice(PHRASES[concern]).format(n=rng.randint(2, 9)) + rng.choice(HEAT)
    facts: Dict[str, Any] = {}
    if rng.random() < 0.6:
        facts = {"order_id": str(rng.randint(10**15, 10**16 - 1)), "carrier": rng.choice(CARRIERS),
                 "status": rng.choice(["shipped", "in_transit"])}
        if concern == "delivery_delay" and rng.random() < 0.5:
            facts["days_late"] = rng.randint(1, 8)
    history = [rng.choice(PHRASES[concern]).format(n=rng.randint(2, 9))] if rng.random() < 0.2 else []
    return {"text": text, "intent": concern, "facts": facts, "history": history}


# ---- the scripted agent ------------------------------------------------------------------------

def _complaints(situation: Situation, text: str) -> List[str]:
    """What 小林 would change in this draft (empty: she sends it as it is)."""
    found = []
    topic = situation.topic
    if topic in FOLLOW_UP_CONCERNS and not TIME_FRAME.search(text):
        found.append("time_frame")
    order_id = situation.facts.get("order_id")
    if order_id and topic in ORDER_CONCERNS and str(order_id) not in text:
        found.append("order_id")
    if STOCK_PHRASE in text:
        found.append("stock_phrase")
    if situation.mood in ("angry", "abusive") and len(text) > SHORT_FOR_ANGRY:
        found.append("too_long")
    if topic == "price_haggle" and "元券" not in text:
        found.append("coupon")
    return found


REASONS = {"time_frame": "没说多久回复", "order_id": "没报订单号", "stock_phrase": "套话太多",
           "too_long": "顾客在气头上，太长", "coupon": "没给券"}


def _fixed(situation: Situation, text: str, problems: Sequence[str], policy: Policy) -> str:
    """The draft as 小林 sends it after her edits; what she adds goes before the closing question."""
    sentences = [s for s in re.split(r"(?<=[。！？?~])", text) if s]
    if "stock_phrase" in problems:
        sentences = [("您的心情我理解。" if STOCK_PHRASE in s else s) for s in sentences]
    if "too_long" in problems:
        while len("".join(sentences)) > SHORT_FOR_ANGRY and len(sentences) > 2:
            sentences.pop(-2)  # drop the sentence before the closing question
    added = []
    if "coupon" in problems:
        added.append(f"我再送您一张{policy.pricing.haggling_ladder[1].coupon}元券。")
    if "time_frame" in problems:
        added.append(f"{policy.follow_up_text(situation.topic)}给您回复。")
    out = "".join(sentences[:-1] + added + sentences[-1:])
    if "order_id" in problems:
        out = f"订单{situation.facts['order_id']}：" + out
    return out


@dataclass(frozen=True)
class Choice:
    action: str                 # approve | edit | reject
    rank: Optional[int]         # 1-based rank of the draft approved or edited
    text: Optional[str] = None  # the edited text
    reason: Optional[str] = None


def decide(situation: Situation, drafts: Sequence[Draft], policy: Policy) -> Choice:
    found = [_complaints(situation, d.text) for d in drafts]
    for rank, problems in enumerate(found, 1):
        if not problems:
            return Choice("approve", rank)
    fewest = min(range(len(drafts)), key=lambda i: (len(found[i]), i))
    if len(found[fewest]) >= 2:
        return Choice("reject", None, reason="；".join(REASONS[p] for p in found[fewest]))
    return Choice("edit", fewest + 1, _fixed(situation, drafts[fewest].text, found[fewest], policy))


# ---- the run ---------------------------------------------------------------------------------

@dataclass
class Step:
    index: int
    topic: str
    temperament: str
    choice: Choice


@dataclass
class Run:
    learning: bool
    steps: List[Step] = field(default_factory=list)

    def window(self, start: int, end: int) -> Dict[str, float]:
        chosen = [s.choice for s in self.steps[start:end]]
        n = max(1, len(chosen))
        return {
            "cases": len(chosen),
            "top1": sum(c.action == "approve" and c.rank == 1 for c in chosen) / n,
            "approved": sum(c.action == "approve" for c in chosen) / n,
            "edited": sum(c.action == "edit" for c in chosen) / n,
            "rejected": sum(c.action == "reject" for c in chosen) / n,
        }


def _nlu_reading(rng: random.Random, intent: str) -> Tuple[Dict[str, Any], bool]:
    draw = rng.random()
    if draw < 0.10:
        return {"intent": intent, "confidence": round(rng.uniform(0.3, 0.59), 2), "simulated": True}, False
    if draw < 0.15:
        return {"intent": MISREAD[intent], "confidence": round(rng.uniform(0.5, 0.8), 2), "simulated": True}, True
    return {"intent": intent, "confidence": round(rng.uniform(0.8, 0.99), 2), "simulated": True}, False


def simulate(n: int = 400, seed: int = 11, learning: bool = True, refresh: int = 20, store_url: Optional[str] = None,
             prior: Prior = Prior(), on_step: Optional[Callable[[Step], None]] = None,
             replies: Optional[Path] = None) -> Tuple[Run, SuggestionStore]:
    """`n` generated cases decided by 小林; with `learning`, drafts are ranked by the
    acceptance record reloaded from the store every `refresh` cases. `replies`: another
    templates folder (default assist/shop/replies)."""
    from assist.shop.versions import template_version

    policy = load_policy()
    book = load_templates(replies, policy=policy)
    texts = template_texts(replies, policy=policy)
    store = SuggestionStore.migrated(store_url or "sqlite://")  # default: in memory, gone with the process
    rng = random.Random(seed)
    nlu_rng = random.Random(seed + 1)
    correct = getattr(store, "correct_concern", None)
    run = Run(learning)
    acceptance: Optional[Acceptance] = Acceptance.empty(prior) if learning else None
    versions = {"model": "simulation", "templates": template_version(replies)}
    for i in range(n):
        if learning and i and i % refresh == 0:
            acceptance = Acceptance.from_store(store, prior=prior, texts=texts)
        case = make_case(rng)
        situation = build_situation(case["text"], intent=case["intent"], history=case["history"], facts=case["facts"])
        drafts = compose(situation, policy=policy, templates=book, acceptance=acceptance)
        nlu, misread = _nlu_reading(nlu_rng, case["intent"])
        stored = dict(situation.to_dict(), nlu=nlu)
        if misread:  # the case opened under the NLU's reading; 小林 corrects it (the drafts here are for the right concern)
            stored["intent"] = nlu["intent"]
        opened = store.cases.open_case(f"sim-{seed}-{i}", stored, [d.to_dict() for d in drafts],
                                 case["text"], channel="simulation", versions=versions)
        if misread and correct is not None:
            correct(opened["id"], AGENT, case["intent"])
        shown = store.cases.get_case(opened["id"])["drafts"]
        choice = decide(situation, drafts, policy)
        draft_id = shown[choice.rank - 1]["id"] if choice.rank else None
        store.decisions.decide(opened["id"], AGENT, choice.action, draft_id=draft_id, text=choice.text, reason=choice.reason,
                     batch=opened["batch"], resolve=choice.action != "reject")
        step = Step(i, situation.topic, situation.temperament, choice)
        run.steps.append(step)
        if on_step:
            on_step(step)
    return run, store
