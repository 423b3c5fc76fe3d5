"""How the customer comes across and how soon a person must answer: the temperament
(ETIQUETTE §3, from what the customer says only), the urgency score with its reasons in words,
and the form of address the profile allows."""
from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from assist.drafting.fact_reading import as_text
from assist.drafting.mood import MoodReading
from assist.shop.cues import Cues
from assist.shop.labels import label

HONORIFICS = ("先生", "女士")
_DETAIL = re.compile(r"\d+|[?]")


def near_duplicate(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    sa, sb = set(a), set(b)
    return min(len(sa), len(sb)) >= 4 and len(sa & sb) / len(sa | sb) >= 0.7

def read_temperament(norm: str, reading: MoodReading, repeats: int, demand: Optional[float],
                 cues: Cues) -> Tuple[str, Tuple[str, ...]]:
    signals: List[str] = []
    unreasonable = cues.unreasonable.distinct(norm)
    if unreasonable:
        signals.append("demand:" + "/".join(unreasonable))
    if demand is not None and demand >= cues.large_demand_yuan:
        signals.append(f"demand:{demand:g}元")
    if signals:
        return "unreasonable", tuple(signals)
    if reading.mood in ("angry", "abusive") or reading.threats:
        signals += [s for s in reading.signals if s in ("insult", "threat", "exclamations", "angry_emoji")]
        return "agitated", tuple(signals or ["angry words"])
    persistent = cues.persistent.distinct(norm)
    details = len(_DETAIL.findall(norm))
    if repeats or persistent or (reading.mood == "anxious" and details >= 2):
        if repeats:
            signals.append(f"repeats:{repeats}")
        signals += [f"asks:{w}" for w in persistent]
        if details >= 2:
            signals.append(f"details:{details}")
        return "persistent", tuple(signals)
    reasoning = cues.reasoning.distinct(norm)
    signals += [f"argues:{w}" for w in reasoning]
    if len(norm) >= 40:
        signals.append("long message")
    return "reasoning", tuple(signals or ["no heat, states the case"])

def score_urgency(concerns: Sequence[str], mood: str, trend: str, threats: Sequence[str], days_late: Optional[int],
             days_waited: Optional[int], repeats: int, vip: bool, cues: Cues) -> Tuple[int, Tuple[str, ...]]:
    w = cues.urgency
    parts: List[Tuple[str, int]] = []
    concern_points = max((w["concern"].get(c, 0) for c in concerns), default=0)
    if concern_points:
        top = max(concerns, key=lambda c: w["concern"].get(c, 0))
        parts.append((label("concerns", top), concern_points))
    if w["mood"].get(mood, 0):
        parts.append((label("moods", mood), w["mood"][mood]))
    if trend == "rising":
        parts.append(("情绪升级", w["rising"]))
    if threats:
        said = "威胁" + "/".join(label("threats", t) for t in threats)
        parts.append((said, min(w["threat_max"], w["per_threat"] * len(threats))))
    if days_late and days_late > 0:
        parts.append((f"晚到{days_late}天", min(w["days_late_max"], w["per_day_late"] * days_late)))
    elif days_waited and days_waited > 0:
        # The customer's own count, unverified: half weight until the order says so.
        parts.append((f"自述等了{days_waited}天", min(w["days_late_max"], w["per_day_late"] * days_waited // 2)))
    if repeats:
        parts.append((f"重复来问{repeats}次", min(w["repeat_max"], w["per_repeat"] * repeats)))
    if vip:
        parts.append(("VIP", w["vip"]))
    parts = [(name, points) for name, points in parts if points > 0]
    score = min(100, sum(points for _, points in parts))
    return score, tuple(f"{name}+{points}" for name, points in parts)

def form_of_address(profile: Any) -> Tuple[Optional[str], bool]:
    if not isinstance(profile, Mapping):
        return None, False
    vip = bool(profile.get("vip"))
    honorific = profile.get("honorific")
    if honorific not in HONORIFICS:
        return None, vip
    surname = as_text(profile.get("surname")).strip()
    surname = surname if 0 < len(surname) <= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in surname) else ""
    return surname + honorific, vip
