"""What is going on with this customer right now: the input to drafting and to the queue.

`build_situation` reads the latest message, the NLU result if there is one, the
customer's earlier messages, order facts and profile, and derives concerns, mood and its
trend, temperament (ETIQUETTE §3, from what the customer says only), urgency, and the
facts we have and lack. It never raises on odd input: shoppers type anything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from assist.shop.cues import Cues, guess_intents, load_cues
from assist.shop.intents import PERSON_CONCERNS
from assist.shop.labels import label
from assist.drafting.mood import LEVEL, MoodReading, mood_trend, read_mood
from assist.text.quantities import money_amounts, price_ask, waited_days
from assist.text.normalize import normalize

TONE_BY_TEMPERAMENT = {"reasoning": "warm", "persistent": "patient", "agitated": "calming", "unreasonable": "boundary"}
HONORIFICS = ("先生", "女士")
# NLU alternatives at least this confident count as further concerns.
RANKING_FLOOR = 0.25
# Entity names other bots use for the facts we know.
_ENTITY_ALIASES = {"order_no": "order_id", "order_number": "order_id", "order": "order_id",
                   "express": "carrier", "courier": "carrier", "logistics": "carrier",
                   "tracking": "tracking_no", "tracking_number": "tracking_no", "item": "product"}
_FACT_ENTITIES = ("order_id", "carrier", "product", "tracking_no", "last_location")
_ORDER_ID = re.compile(r"(?<![0-9A-Za-z])(\d{10,24})(?![0-9])")
_ORDER_ID_LABELLED = re.compile(r"(?:订单号?|单号)\s*(?:是|为|:)?\s*([A-Za-z0-9-]{6,32})")
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_COMPENSATION_WORDS = re.compile(r"赔|补偿|损失")
_DETAIL = re.compile(r"\d+|[?]")
MAX_FACT_CHARS = 200


@dataclass(frozen=True)
class Situation:
    text: str
    intent: str
    intent_source: str                     # given | ranking | cues
    concerns: Tuple[str, ...]
    problems: Tuple[str, ...]
    causes: Tuple[str, ...]
    mood: str
    mood_trend: str
    mood_history: Tuple[str, ...]          # earlier messages then this one
    threats: Tuple[str, ...]
    temperament: str
    temperament_signals: Tuple[str, ...]
    urgency: int
    urgency_reasons: Tuple[str, ...]
    facts: Mapping[str, Any] = field(default_factory=dict)
    missing: Tuple[str, ...] = ()
    repeats: int = 0                       # earlier messages about the same thing
    price_ask: Mapping[str, Any] = field(default_factory=dict)
    demand_yuan: Optional[float] = None    # compensation the customer names
    address: Optional[str] = None          # 王先生 / 女士, only when the profile says so
    vip: bool = False

    @property
    def topic(self) -> str:
        """The concern a reply must address first. A request for a person comes after the
        substance: the agent answering IS the person, and still has to fix the parcel."""
        person = [c for c in self.concerns if c in PERSON_CONCERNS]
        substantive = [c for c in person if c != "request_human"]
        if substantive:
            return substantive[0]
        return person[0] if person else (self.concerns[0] if self.concerns else "out_of_scope")

    @property
    def needs_person(self) -> bool:
        return any(c in PERSON_CONCERNS for c in self.concerns) or self.mood in ("angry", "abusive")

    @property
    def tone(self) -> str:
        return TONE_BY_TEMPERAMENT[self.temperament]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "text": self.text,
            "intent": self.intent,
            "intent_source": self.intent_source,
            "topic": self.topic,
            "concerns": list(self.concerns),
            "problems": list(self.problems),
            "causes": list(self.causes),
            "mood": self.mood,
            "mood_trend": self.mood_trend,
            "mood_history": list(self.mood_history),
            "threats": list(self.threats),
            "temperament": self.temperament,
            "temperament_signals": list(self.temperament_signals),
            "tone": self.tone,
            "urgency": self.urgency,
            "urgency_reasons": list(self.urgency_reasons),
            "facts": dict(self.facts),
            "missing": list(self.missing),
            "repeats": self.repeats,
            "price_ask": dict(self.price_ask),
            "demand_yuan": self.demand_yuan,
            "address": self.address,
            "vip": self.vip,
            "needs_person": self.needs_person,
        }


# ---- small readers ---------------------------------------------------------------------

@lru_cache(maxsize=8192)
def _norm(text: str) -> str:
    return normalize(text)


@lru_cache(maxsize=8192)
def _guesses(norm: str, cues: Cues) -> Tuple[Tuple[str, float], ...]:
    return tuple(guess_intents(norm, cues))


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return _as_text(value)[:MAX_FACT_CHARS]


def _ranking(intent_ranking: Any) -> List[Tuple[str, float]]:
    out = []
    for item in intent_ranking or ():
        if isinstance(item, Mapping):
            name = item.get("name") or item.get("intent")
            try:
                confidence = float(item.get("confidence", 0) or 0)
            except (TypeError, ValueError):
                confidence = 0.0
            if isinstance(name, str) and name:
                out.append((name, confidence))
    return out


def _concerns(intent: str, ranking: Sequence[Tuple[str, float]], guesses: Sequence[Tuple[str, float]],
              social: Sequence[str]) -> Tuple[str, ...]:
    ordered = [intent]
    ordered += [name for name, conf in ranking if conf >= RANKING_FLOOR and name in PERSON_CONCERNS]
    ordered += [name for name, _ in guesses if name not in social and name != "out_of_scope"]
    concerns = list(dict.fromkeys(ordered))
    # A greeting glued to a real question is not a concern of its own.
    substantive = [c for c in concerns if c not in social and c != "out_of_scope"]
    return tuple(substantive or concerns[:1])


def _facts(facts: Any, entities: Any, norm: str, cues: Cues) -> Dict[str, Any]:
    known: Dict[str, Any] = {}
    if isinstance(facts, Mapping):
        for key, value in facts.items():
            if isinstance(key, str) and value is not None and value != "":
                known[key] = _json_safe(value)
    for ent in entities if isinstance(entities, (list, tuple)) else ():
        if not isinstance(ent, Mapping):
            continue
        name = ent.get("entity")
        if not isinstance(name, str):
            continue
        name = _ENTITY_ALIASES.get(name, name)
        value = ent.get("value")
        if name in _FACT_ENTITIES and value not in (None, "") and name not in known:
            known[name] = _json_safe(value)
    if "order_id" not in known:
        labelled = _ORDER_ID_LABELLED.search(norm)
        numbers = [n for n in _ORDER_ID.findall(norm) if not _PHONE.match(n)]
        if labelled:
            known["order_id"] = labelled.group(1)
        elif numbers:
            known["order_id"] = numbers[0]
    if "carrier" not in known:
        found = cues.carriers.find(norm)
        if found:
            known["carrier"] = cues.carrier_names.get(found[0].word.lower(), found[0].word)
    return known


def _int_fact(facts: Mapping[str, Any], key: str) -> Optional[int]:
    value = facts.get(key)
    if isinstance(value, bool):
        return None
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError, OverflowError):  # None, "abc", inf
        return None


def _near_duplicate(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    sa, sb = set(a), set(b)
    return min(len(sa), len(sb)) >= 4 and len(sa & sb) / len(sa | sb) >= 0.7


def _temperament(norm: str, reading: MoodReading, repeats: int, demand: Optional[float],
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




def _urgency(concerns: Sequence[str], mood: str, trend: str, threats: Sequence[str], days_late: Optional[int],
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
    parts = [(label, points) for label, points in parts if points > 0]
    score = min(100, sum(points for _, points in parts))
    return score, tuple(f"{label}+{points}" for label, points in parts)


def _address(profile: Any) -> Tuple[Optional[str], bool]:
    if not isinstance(profile, Mapping):
        return None, False
    vip = bool(profile.get("vip"))
    honorific = profile.get("honorific")
    if honorific not in HONORIFICS:
        return None, vip
    surname = _as_text(profile.get("surname")).strip()
    surname = surname if 0 < len(surname) <= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in surname) else ""
    return surname + honorific, vip


# ---- the builder -----------------------------------------------------------------------

def build_situation(
    text: Any,
    intent: Optional[str] = None,
    intent_ranking: Optional[Sequence[Mapping[str, Any]]] = None,
    entities: Optional[Sequence[Mapping[str, Any]]] = None,
    history: Optional[Sequence[str]] = None,
    facts: Optional[Mapping[str, Any]] = None,
    profile: Optional[Mapping[str, Any]] = None,
    cues: Optional[Cues] = None,
) -> Situation:
    cues = cues or load_cues()
    norm = _norm(_as_text(text))
    guesses = _guesses(norm, cues)
    ranking = _ranking(intent_ranking)
    if isinstance(intent, str) and intent.strip():
        chosen, source = intent.strip(), "given"
    elif ranking:
        chosen, source = max(ranking, key=lambda r: r[1])[0], "ranking"
    else:
        chosen, source = guesses[0][0], "cues"
    concerns = _concerns(chosen, ranking, guesses, cues.social_intents)
    problems = tuple(p for p in cues.problems if p.words.matches(norm))
    causes = tuple(p.cause for p in problems)
    implied = [p.concern for p in problems if p.concern and p.concern not in concerns]
    if implied:
        kept = tuple(c for c in concerns if c not in cues.social_intents and c != "out_of_scope")
        concerns = kept + tuple(dict.fromkeys(implied))

    earlier = [_norm(_as_text(h)) for h in (history if isinstance(history, (list, tuple)) else ()) if h]
    earlier = [h for h in earlier if h][-20:]
    topic_set = {c for c in concerns if c in PERSON_CONCERNS and c != "request_human"}
    repeats = sum(
        1 for h in earlier
        if _near_duplicate(h, norm) or topic_set & {name for name, _ in _guesses(h, cues)}
    )

    reading = read_mood(norm, cues)
    readings = [read_mood(h, cues) for h in earlier] + [reading]
    levels = [r.level for r in readings]
    mood = reading.mood
    if mood == "calm" and earlier and _near_duplicate(earlier[-1], norm):
        mood = "anxious"  # the same words again: they are waiting and it shows
        levels[-1] = LEVEL[mood]
    trend = mood_trend(levels)


    known = _facts(facts, entities, norm, cues)
    waited = max([d for d in (waited_days(t) for t in earlier + [norm]) if d] or [0]) or None
    if waited and "days_waited" not in known:
        known["days_waited"] = waited
    days_late = _int_fact(known, "days_late")

    ask = price_ask(norm)
    demand = None
    if _COMPENSATION_WORDS.search(norm):
        amounts = [a.value for a in money_amounts(norm)]
        demand = max(amounts) if amounts else None

    temperament, signals = _temperament(norm, reading, repeats, demand, cues)
    address, vip = _address(profile)
    threats = tuple(dict.fromkeys(t for r in readings[-3:] for t in r.threats))
    urgency, reasons = _urgency(concerns, mood, trend, threats, days_late, waited, repeats, vip, cues)

    needed = [f for c in concerns for f in cues.needs.get(c, ())]
    missing = tuple(f for f in dict.fromkeys(needed) if f not in known)

    return Situation(
        text=norm,
        intent=chosen,
        intent_source=source,
        concerns=concerns,
        problems=tuple(p.id for p in problems),
        causes=causes,
        mood=mood,
        mood_trend=trend,
        mood_history=tuple(r.mood for r in readings[:-1]) + (mood,),
        threats=threats,
        temperament=temperament,
        temperament_signals=signals,
        urgency=urgency,
        urgency_reasons=reasons,
        facts=known,
        missing=missing,
        repeats=repeats,
        price_ask={k: v for k, v in ask._asdict().items() if v not in (None, False)},
        demand_yuan=demand,
        address=address,
        vip=vip,
    )
