"""The one line an agent reads beside each draft: how the customer comes across, how soon to
answer, and what the draft does (asks for a fact, gives the coupon the ladder allows …)."""
from __future__ import annotations

from typing import Mapping, Sequence

from assist.drafting.situation import Situation
from assist.shop.labels import LABELS, label
from assist.shop.policy import Policy
from assist.shop.template_shape import Variant

FACT_SLOTS = frozenset({"order_id", "carrier", "last_location", "tracking_no", "days_late", "status_text", "product"})


def uses(pieces: Sequence[Variant], slot: str) -> bool:
    return any(slot in v.slots for v in pieces)


def reason_for(s: Situation, values: Mapping[str, str], policy: Policy, kind: str, pieces: Sequence[Variant]) -> str:
    """What the agent reads beside a draft: the reading in a few words, the priority, the plan."""
    head = []
    if s.mood != "calm":
        head.append(label("moods", s.mood))
    if s.mood_trend == "rising":
        head.append("情绪升级")
    days_late = values.get("days_late")
    if days_late:
        head.append(f"晚到{days_late}天")
    elif values.get("days_waited"):
        head.append(f"自述等了{values['days_waited']}天")
    if s.threats:
        head.append("威胁" + "/".join(label("threats", t) for t in s.threats))
    if s.repeats:
        head.append(f"第{s.repeats + 1}次问")
    if s.temperament != "reasoning":
        head.append(label("temperaments", s.temperament))
    priority = "优先" if s.urgency >= 60 else ("尽快" if s.urgency >= 30 else "常规")
    lead = " + ".join(head) if head else label("concerns", s.topic)
    resolve = next((v for v in pieces if v.stage == "resolve"), None)
    if kind == "ask" and resolve is not None and resolve.asks:
        tail = f"缺{label('facts', resolve.asks)} → 请顾客提供"
    elif resolve is not None and "beyond_policy" in resolve.when:
        tail = "要求超出政策 → 只给政策内的，其余请示主管"
    elif uses(pieces, "compensation"):
        tail = f"按政策补{values['compensation']}元券"
    elif uses(pieces, "floor_coupon") or uses(pieces, "coupon"):
        amount = values.get("floor_coupon") if uses(pieces, "floor_coupon") else values.get("coupon")
        tail = f"给{amount}元券（上限{policy.pricing.coupon_ceiling}元）"
    elif resolve is not None and set(resolve.slots) & FACT_SLOTS:
        tail = "用已知事实处理"
    else:
        tail = "先承诺核实处理" if s.needs_person else "直接答复"
    if kind == "short":
        tail = "简短版；" + tail
    elif kind == "alternative":
        tail = "换个说法；" + tail
    tone = LABELS["tones"].get(s.tone)
    return f"{lead} → {priority}；{tail}" + (f"；{tone}" if tone and s.needs_person else "")
