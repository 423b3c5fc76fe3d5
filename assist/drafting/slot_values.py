"""The values of a template's slots for one situation.

Fact slots come from the order and what the customer said, cleaned so that nothing odd
(a 10k-character product name, HTML, a '{') can reach the customer. Derived slots turn
the situation and the policy into words: the cause to acknowledge, the follow-up time
frame, the coupon the haggling ladder allows, the compensation owed for days late.
A slot without a value makes its template ineligible; it is never printed empty.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, FrozenSet, Mapping, Optional

from assist.shop.policy import Policy
from assist.shop.slots import MAX_CHARS, STATUS_TEXT

_CODE = re.compile(r"^[A-Za-z0-9-]{4,24}$")
_NAME_CHARS = re.compile(r"[^\u4e00-\u9fffA-Za-z0-9 ·-]")
PRODUCT_FAULTS = frozenset({"damaged", "wrong_item", "missing_item", "quality"})
DELIVERY_FAULTS = frozenset({"late", "stuck", "not_shipped"})
ON_THE_WAY = frozenset({"paid", "shipped", "in_transit"})


def _code(value: Any, limit: int) -> Optional[str]:
    text = str(value).strip()
    return text if _CODE.match(text) and len(text) <= limit else None


@lru_cache(maxsize=4096)
def _name(value: str, limit: int) -> Optional[str]:
    """A product or place name safe to print: plain characters, short, etiquette-clean."""
    from assist.drafting.checker import check

    text = _NAME_CHARS.sub("", value).strip()
    if not text:
        return None
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text if not check(text, whole_message=False) else None


def _count(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):  # "abc", NaN, inf
        return None
    return number if 0 < number <= 365 else None


def fact_values(facts: Mapping[str, Any]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for key in ("order_id", "tracking_no"):
        if facts.get(key) is not None:
            code = _code(facts[key], MAX_CHARS[key])
            if code:
                out[key] = code
    for key in ("carrier", "product", "last_location"):
        if facts.get(key) is not None:
            name = _name(str(facts[key])[:200], MAX_CHARS[key])
            if name:
                out[key] = name
    for key in ("days_late", "days_waited"):
        number = _count(facts.get(key))
        if number:
            out[key] = str(number)
    status = facts.get("status")
    if isinstance(status, str) and status in STATUS_TEXT:
        out["status_text"] = STATUS_TEXT[status]
    return out


def haggle_rung(policy: Policy, repeats: int):
    """The ladder rung for this round of haggling: first ask → first coupon, then the floor."""
    ladder = policy.pricing.haggling_ladder
    with_coupon = [r for r in ladder if r.coupon]
    if not with_coupon:
        return None
    return with_coupon[min(repeats, len(with_coupon) - 1)]


def derived_values(situation, policy: Policy, default_cause: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    causes = list(situation.causes[:2])
    out["cause"] = "，".join(causes) if causes else default_cause
    out["follow_up"] = policy.follow_up_text(situation.topic)
    days_late = _count(situation.facts.get("days_late"))
    owed = policy.compensation_for("delivery_delay", days_late)
    if owed:
        out["compensation"] = str(owed)
    rung = haggle_rung(policy, situation.repeats if situation.topic == "price_haggle" else 0)
    if rung is not None:
        out["coupon"], out["coupon_min_spend"] = str(rung.coupon), str(rung.min_spend)
    floor = policy.pricing.floor
    if floor.coupon:
        out["floor_coupon"], out["floor_min_spend"] = str(floor.coupon), str(floor.min_spend)
    return out


def beyond_policy(situation, policy: Policy) -> bool:
    """The customer asks for more than the ladder's floor or the compensation ceiling."""
    floor = policy.pricing.floor
    ask = situation.price_ask
    if ask.get("discount_yuan") and ask["discount_yuan"] > (floor.coupon or 0):
        return True
    limit = floor.max_discount_percent if floor.max_discount_percent is not None else 0
    if ask.get("discount_percent") and ask["discount_percent"] > limit:
        return True
    price = situation.facts.get("price")
    if ask.get("target_price") and isinstance(price, (int, float)) and price > 0:
        if (price - ask["target_price"]) / price * 100 > limit and price - ask["target_price"] > (floor.coupon or 0):
            return True
    if situation.demand_yuan and situation.demand_yuan > policy.money_ceiling:
        return True
    return any(s.startswith("demand:") for s in situation.temperament_signals)


def flags(situation, policy: Policy) -> FrozenSet[str]:
    on = set()
    if beyond_policy(situation, policy):
        on.add("beyond_policy")
    if situation.repeats:
        on.add("repeat")
    if situation.threats:
        on.add("threat")
    if situation.vip:
        on.add("vip")
    if PRODUCT_FAULTS & set(situation.problems):
        on.add("product_fault")
    days_late = _count(situation.facts.get("days_late"))
    if "product_fault" in on or (days_late and situation.facts.get("status")):  # late by the order, not by hearsay
        on.add("our_fault")
    if any(s.startswith("argues:") for s in situation.temperament_signals):
        on.add("argues")
    # The parcel has not reached the customer: the delivery is chased, the 7-day rule (counted from
    # signing) is not the answer, and a return means a refund before it arrives. A demand beyond the
    # policy keeps its own answer (the supervisor) first.
    if (DELIVERY_FAULTS & set(situation.problems) or situation.facts.get("status") in ON_THE_WAY) and not (
            PRODUCT_FAULTS & set(situation.problems)) and "beyond_policy" not in on:
        on.add("not_received")
    return frozenset(on)
