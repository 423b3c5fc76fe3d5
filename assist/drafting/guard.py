"""The shop-policy guard: money, discounts, compensation and dates a text promises.

Each function reads normalised text and returns (start, end, detail) hits; the checker
turns them into findings. A draft may offer only what policy.yml allows, and an agent's
edit is held to the same line.
"""
from __future__ import annotations

import re
from typing import List, Tuple

from assist.shop.policy import Policy
from assist.text.quantities import NUM, cn_number, discount_percents
from assist.text.wordlist import WordList

GuardHit = Tuple[int, int, str]

# Money counts as offered when it sits right next to a giving word: 送您10元券, 补偿20元,
# 便宜30块, 30元红包. "满59元包邮" or "订单金额199元" are prices, not offers.
_GIVE_BEFORE = r"(?:券|红包|补偿|赔偿|赔付|返现|返|立减|减|便宜|优惠|让利|少收|差价|降价|少算|退您|补您|给您|送您|转您|转给您|补|赔|降)"
_GIVE_AFTER = r"(?:优惠券|券|红包|补偿|赔偿|现金|返现|差价|无门槛)"
_MONEY_OFFERED = re.compile(
    rf"{_GIVE_BEFORE}\s*(?:了|您|给您|一张|一个|共)?\s*(?P<a>{NUM})\s*(?:元|块钱|块|(?=[,.!?;。~]|$))"
    rf"|(?P<b>{NUM})\s*(?:元|块钱|块)\s*(?:的)?\s*(?:作为|当作|算作|算是|当)?\s*{_GIVE_AFTER}"
    # 给您发个30的券: an amount written straight before a coupon, not a spending threshold (满99的券).
    rf"|(?<![满\d])(?P<c>{NUM})\s*(?:的)?\s*(?:优惠券|券|红包)"
)


def money_over_ceiling(text: str, policy: Policy) -> List[GuardHit]:
    ceiling = policy.money_ceiling
    hits = []
    for m in _MONEY_OFFERED.finditer(text):
        value = cn_number(m.group("a") or m.group("b") or m.group("c"))
        if value is not None and value > ceiling:
            hits.append((m.start(), m.end(), f"{value:g}元超过上限{ceiling}元"))
    return hits


def discount_below_floor(text: str, policy: Policy) -> List[GuardHit]:
    floor = policy.pricing.floor.max_discount_percent
    if floor is None:
        floor = 0.0
    return [
        (a.start, a.end, f"相当于优惠{a.value:g}%，底线是{floor:g}%")
        for a in discount_percents(text)
        if a.value > floor
    ]


def compensation_not_allowed(text: str, policy: Policy, words: WordList, multiples: WordList) -> List[GuardHit]:
    hits = [(h.start, h.end, f"“{h.word}”不在政策里") for h in multiples.find(text)]
    if not any(policy.compensation.values()):
        hits += [(h.start, h.end, "本店政策没有补偿") for h in words.find(text)]
    return hits


_UNITS = {"小时": "小时", "个小时": "小时", "天": "天", "日": "天", "个工作日": "天", "工作日": "天", "分钟": "分钟"}
_FRAME = re.compile(rf"(?P<n>{NUM})\s*(?P<unit>个小时|小时|个工作日|工作日|天|日|分钟)\s*(?:之内|以内|内)")


def dates_not_in_policy(text: str, policy: Policy) -> List[GuardHit]:
    """Time frames ("3小时内") the policy does not name. Arrival dates said as promises
    (明天就能送到) are word patterns of the rule in etiquette.yml; estimates are its hedges."""
    frames = policy.time_frames()
    hits = []
    for m in _FRAME.finditer(text):
        value = cn_number(m.group("n"))
        unit = _UNITS[m.group("unit")]
        allowed = frames.get(unit, ())
        if value is not None and value not in allowed:
            listed = "、".join(f"{v}{unit}" for v in allowed)
            hits.append((m.start(), m.end(), f"政策里的时间是：{listed}"))
    return hits
