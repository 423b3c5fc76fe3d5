"""What is going on with this customer right now: the input to drafting and to the queue.

`build_situation` reads the latest message, the NLU result if there is one, the
customer's earlier messages, order facts and profile, and derives concerns, mood and its
trend, temperament (ETIQUETTE §3, from what the customer says only), urgency, and the
facts we have and lack. It never raises on odd input: shoppers type anything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from assist.drafting.fact_reading import as_text, int_fact, is_known, read_facts
from assist.drafting.mood import LEVEL, mood_trend, read_mood
from assist.drafting.temperament import form_of_address, near_duplicate, read_temperament, score_urgency
from assist.shop.cues import Cues, guess_intents, load_cues
from assist.shop.intents import PERSON_CONCERNS
from assist.text.normalize import normalize
from assist.text.quantities import money_amounts, price_ask, waited_days

TONE_BY_TEMPERAMENT = {"reasoning": "warm", "persistent": "patient", "agitated": "calming", "unreasonable": "boundary"}
# NLU alternatives at least this confident count as further concerns.
RANKING_FLOOR = 0.25
_COMPENSATION_WORDS = re.compile(r"赔|补偿|损失")


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


PRESALE = frozenset({"price_haggle", "product_inquiry"})
_ORDER_WORDS = re.compile(r"订单|单号|下单|下的单|付款|发货|快递|物流|包裹")


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
    norm = _norm(as_text(text))
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

    earlier = [_norm(as_text(h)) for h in (history if isinstance(history, (list, tuple)) else ()) if h]
    earlier = [h for h in earlier if h][-20:]
    topic_set = {c for c in concerns if c in PERSON_CONCERNS and c != "request_human"}
    repeats = sum(
        1 for h in earlier
        if near_duplicate(h, norm) or topic_set & {name for name, _ in _guesses(h, cues)}
    )

    reading = read_mood(norm, cues)
    readings = [read_mood(h, cues) for h in earlier] + [reading]
    levels = [r.level for r in readings]
    mood = reading.mood
    if mood == "calm" and earlier and near_duplicate(earlier[-1], norm):
        mood = "anxious"  # the same words again: they are waiting and it shows
        levels[-1] = LEVEL[mood]
    trend = mood_trend(levels)


    known = read_facts(facts, entities, norm, cues)
    unmatched = "order_id" in known and isinstance(facts, Mapping) and bool(facts.get("order_lookup")) and not any(
        _ORDER_WORDS.search(t) for t in earlier + [norm])
    if unmatched or ("order_id" in known and not (facts or {}).get("order_id") and set(concerns) <= PRESALE
                     and not _ORDER_WORDS.search(norm)):
        # Before buying, a bare long number is the goods' id (商品编号), not an order to look up; so is
        # one the order store does not know, sent with no word of an order (a shop's 12-digit item id).
        known["product_code"] = known.pop("order_id")
        known.pop("order_lookup", None)
        if "order_status" in concerns and not _ORDER_WORDS.search(norm):
            concerns = tuple(dict.fromkeys("product_inquiry" if c == "order_status" else c for c in concerns))
            chosen = "product_inquiry" if chosen == "order_status" else chosen
    waited = max([d for d in (waited_days(t) for t in earlier + [norm]) if d] or [0]) or None
    if waited and "days_waited" not in known:
        known["days_waited"] = waited
    days_late = int_fact(known, "days_late")

    ask = price_ask(norm)
    demand = None
    if _COMPENSATION_WORDS.search(norm):
        amounts = [a.value for a in money_amounts(norm)]
        demand = max(amounts) if amounts else None

    temperament, signals = read_temperament(norm, reading, repeats, demand, cues)
    address, vip = form_of_address(profile)
    threats = tuple(dict.fromkeys(t for r in readings[-3:] for t in r.threats))
    urgency, reasons = score_urgency(concerns, mood, trend, threats, days_late, waited, repeats, vip, cues)

    needed = [f for c in concerns for f in cues.needs.get(c, ())]
    missing = tuple(f for f in dict.fromkeys(needed) if not is_known(f, known))

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


def in_conversation(situation: Situation, concerns: Sequence[str], mood: str, mood_trend: str,
                    cues: Optional[Cues] = None) -> Situation:
    """The latest message's situation, read in its conversation: the case's concerns (primary
    first) and its mood over the whole case replace the message's own; what is still missing
    follows; the tone follows the mood (an irritated case is answered calmly, whatever the
    latest words were)."""
    cues = cues or load_cues()
    concerns = tuple(concerns) or situation.concerns
    needed = [f for c in concerns for f in cues.needs.get(c, ())]
    missing = tuple(f for f in dict.fromkeys(needed) if not is_known(f, situation.facts))
    temperament = situation.temperament
    if mood in ("angry", "abusive") and temperament != "unreasonable":
        temperament = "agitated"
    elif mood == "anxious" and temperament == "reasoning":
        temperament = "persistent"
    return replace(situation, intent=concerns[0] if concerns else situation.intent, concerns=concerns, mood=mood,
                   mood_trend=mood_trend, missing=missing, temperament=temperament)
