"""Numbers the way shoppers write them: 五天了, 两个星期, 便宜20块, 打八五折, 65块钱卖不卖.

All functions read normalised text (simplified, half width) and never raise.
"""
from __future__ import annotations

import re
from typing import List, NamedTuple, Optional

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUM = "零〇一二两三四五六七八九十百千几"
NUM = rf"(?:\d+(?:\.\d+)?|[{CN_NUM}]+)"


def cn_number(token: str) -> Optional[float]:
    """'15' → 15, '十五' → 15, '二十' → 20, '一百二' → 120, '几' → 3, '十几' → 12."""
    token = token.strip()
    if not token:
        return None
    try:
        return float(token)
    except ValueError:
        pass
    if token == "几":
        return 3.0  # "几天" is vague; a few days is the honest reading
    total, current = 0, 0
    for ch in token:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current = 0
        elif ch == "几":
            current = 2  # "十几" → 12: the low end, never exaggerate what the customer said
        else:
            return None
    if len(token) > 1 and token[-1] in _DIGITS and token[-2] in _UNITS and _UNITS[token[-2]] > 10:
        # Spoken shorthand: 一百二 is 120 and 一千五 is 1500, not 102 / 1005.
        current *= _UNITS[token[-2]] // 10
    return float(total + current)


_DAY_UNITS = {"天": 1, "星期": 7, "周": 7, "礼拜": 7, "个月": 30, "月": 30}
# A number of days counts as "waited" only in waiting context (都五天了, 等了一周, 三天还没到),
# so "7天无理由" or "3天内发货吗" are not read as a delay.
_WAIT = re.compile(
    rf"(?P<before>都|已经|等了|晚了|迟了|等|过了|整整|足足|超过|快)?\s*(?P<n>{NUM})\s*(?:个)?\s*(?P<unit>天|星期|周|礼拜|个月|月)"
    rf"(?P<after>了|还|都|没|也|过去|多)?"
)


def waited_days(text: str) -> Optional[int]:
    """The longest wait the customer mentions, in days; None when none is mentioned."""
    best = None
    for m in _WAIT.finditer(text or ""):
        if not (m.group("before") or m.group("after")):
            continue
        if text[m.end(): m.end() + 1] in ("内", "后"):
            continue
        n = cn_number(m.group("n"))
        if n is None or n <= 0 or n > 365:
            continue
        days = int(n * _DAY_UNITS[m.group("unit")])
        best = days if best is None else max(best, days)
    if best is None and "半个月" in (text or ""):
        best = 15
    return best


class Amount(NamedTuple):
    start: int
    end: int
    value: float


_MONEY = re.compile(rf"(?P<n>{NUM})\s*(?:元|块钱|块|rmb|RMB)")


def money_amounts(text: str) -> List[Amount]:
    out = []
    for m in _MONEY.finditer(text or ""):
        value = cn_number(m.group("n"))
        if value is not None:
            out.append(Amount(m.start(), m.end(), value))
    return out


_ZHE = re.compile(r"(?P<n>\d+(?:\.\d+)?|[一二三四五六七八九]{1,2})\s*折")


def discount_percents(text: str) -> List[Amount]:
    """'八折' → 20 (% off), '85折' / '八五折' → 15, '9.5折' → 5."""
    out = []
    for m in _ZHE.finditer(text or ""):
        token = m.group("n")
        if token.isdigit() and len(token) == 2:
            rate = int(token) / 10
        elif all(ch in _DIGITS for ch in token):
            rate = _DIGITS[token[0]] + (_DIGITS[token[1]] / 10 if len(token) == 2 else 0)
        else:
            try:
                rate = float(token)
            except ValueError:
                continue
        if 0 < rate < 10:
            out.append(Amount(m.start(), m.end(), round(100 - rate * 10, 1)))
    return out


class PriceAsk(NamedTuple):
    """What a haggling customer asks for; any part may be unknown."""

    discount_yuan: Optional[float]
    discount_percent: Optional[float]
    target_price: Optional[float]
    free_shipping: bool


_LESS_BY = re.compile(rf"(?:便宜|少|减|优惠|让)\s*(?:点|一点|个|了)?\s*(?P<n>{NUM})\s*(?:元|块钱|块)?")
_TARGET = re.compile(rf"(?P<n>{NUM})\s*(?:元|块钱|块)?\s*(?:整)?\s*(?:吧|行不行|行吗|卖不卖|卖吗|可以吗|成交|出不出|拿)")


def price_ask(text: str) -> PriceAsk:
    text = text or ""
    less = [cn_number(m.group("n")) for m in _LESS_BY.finditer(text)]
    less = [v for v in less if v is not None and v > 0]
    target = [cn_number(m.group("n")) for m in _TARGET.finditer(text)]
    target = [v for v in target if v is not None and v > 0]
    percents = discount_percents(text)
    return PriceAsk(
        discount_yuan=max(less) if less else None,
        discount_percent=max(p.value for p in percents) if percents else None,
        target_price=min(target) if target and not less else None,
        free_shipping="包邮" in text,
    )


# After a number: a time (点, 分), a date (号, 月), a count or a measure (个, 件, 元 …) — not a number to look up.
_COUNTED = re.compile(r"\s*[点号分天个元块岁件包月年次秒周斤份盒袋瓶罐张:：\-]")


def counts_something(text: str, end: int) -> bool:
    """The number that ends at `end` in `text` is a time, a date or a count ([数字x]点, 3个)."""
    return bool(_COUNTED.match(text[end:end + 2]))
