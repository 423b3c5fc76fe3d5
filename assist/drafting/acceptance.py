"""Drafts that improve from agents' decisions: each template variant's acceptance record.

Every decision on a batch of drafts says something about the template pieces the drafts
were made of (acknowledge, apologize, resolve, follow-up, consult variants) and about the
plan (resolve / ask / alternative / short):

    approved as is                  → each piece of that draft: 1 of 1
    edited                          → pieces the agent kept: ½ of 1; pieces rewritten: 0 of 1
    ranked above the one chosen     → its other pieces: 0 of 1 (read and passed over)
    ranked below the one chosen     → nothing (perhaps never read)
    all rejected / own text written → every piece shown: 0 of 1

(the cascade model of how people read ranked lists: top down, stopping at the first that
will do.)

A piece's score for a concern × temperament is a Beta posterior with a prior, pooled in two
levels so thin data leans on thicker data: prior (mean ½, two decisions' weight) → the piece
over all temperaments of the concern → the piece for this temperament. The composer builds
its first draft from the best posterior means (exploit) and its alternative from the best
optimistic scores (mean + one standard deviation), so a new or little-seen variant still
reaches agents, at rank 2, until its record says otherwise. Same records, same scores: no
randomness. Learning only reorders variants the composer already found eligible, and every
draft still passes the checker, so it never promotes a draft that breaks a rule.

`Acceptance` is immutable and cheap to query (dict lookups); `AcceptanceCache`
(acceptance_cache.py) reloads it from the suggestion store every N seconds in a server.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from assist.text.placeholders import SLOT

logger = logging.getLogger(__name__)

APPROVE, EDIT_KEPT, EDIT_REWRITTEN = 1.0, 0.5, 0.0
# A piece whose template we no longer have (templates changed): half credit for an edit.
EDIT_UNKNOWN = 0.25
PLAN = "plan:"          # key prefix for the plan a draft followed (plan:short ...)
ANY = "*"               # the pooled temperament
Key = Tuple[str, str, str]  # (piece or plan key, topic, temperament)


@dataclass(frozen=True)
class Prior:
    mean: float = 0.5          # what an unseen variant is assumed to earn
    strength: float = 2.0      # worth of the prior, in decisions
    cell_strength: float = 4.0  # worth of the concern-wide record for one temperament
    explore: float = 1.0       # standard deviations of optimism in the alternative draft
    weight: float = 1.0        # how far a draft's learned score moves its ranking score


@dataclass
class Tally:
    """One key's record in one context: decisions seen (weighted) and credit earned."""

    trials: float = 0.0
    reward: float = 0.0
    shown: int = 0
    approved: int = 0
    edited: int = 0
    rejected: int = 0
    passed_over: int = 0

    def add(self, weight: float, reward: float, outcome: str) -> None:
        self.trials += weight
        self.reward += weight * reward
        self.shown += 1
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass(frozen=True)
class Outcome:
    key: str
    weight: float
    reward: float
    kind: str   # approved | edited | rejected | passed_over


# ---- which pieces survived an edit ---------------------------------------------------------

def template_pattern(text: str) -> "re.Pattern[str]":
    """A template as a regex: literal text, each {slot} a short named group."""
    parts, seen, last = [], set(), 0
    for m in SLOT.finditer(text):
        parts.append(re.escape(text[last:m.start()]))
        name = m.group(1)
        parts.append(f"(?P<{name}>.{{1,40}}?)" if name not in seen else f"(?P={name})")
        seen.add(name)
        last = m.end()
    parts.append(re.escape(text[last:]))
    return re.compile("".join(parts), re.S)


_PATTERNS: Dict[str, "re.Pattern[str]"] = {}


def _pattern(text: str) -> "re.Pattern[str]":
    found = _PATTERNS.get(text)
    if found is None:
        found = _PATTERNS[text] = template_pattern(text)
    return found


def _bigrams(text: str) -> List[str]:
    return [text[i:i + 2] for i in range(len(text) - 1)]


def kept(template: str, final_text: str) -> bool:
    """Did the agent keep this piece (verbatim, or nearly: a changed character or two)?"""
    if _pattern(template).search(final_text):
        return True
    literal = SLOT.sub("", template)
    grams = _bigrams(literal)
    if len(grams) < 4:
        return False
    have = set(_bigrams(final_text))
    return sum(g in have for g in grams) / len(grams) >= 0.85


# ---- decisions → outcomes per key ----------------------------------------------------------

def draft_keys(draft: Mapping[str, Any]) -> List[str]:
    keys = list(dict.fromkeys(draft.get("pieces") or ([draft["variant_id"]] if draft.get("variant_id") else [])))
    if draft.get("kind"):
        keys.append(PLAN + draft["kind"])
    return keys


def outcomes(record: Mapping[str, Any], texts: Optional[Mapping[str, str]] = None) -> List[Outcome]:
    """What one decided batch says about each key shown in it (one outcome per key)."""
    decision = record.get("decision")
    shown = record.get("drafts") or []
    if not decision or not shown:
        return []
    action, rank = decision.get("action"), decision.get("rank")
    chosen = next((d for d in shown if d.get("rank") == rank), None) if action in ("approve", "edit") else None
    result: Dict[str, Outcome] = {}
    if chosen is not None:
        for key in draft_keys(chosen):
            if action == "approve":
                result[key] = Outcome(key, 1.0, APPROVE, "approved")
            elif key.startswith(PLAN):
                result[key] = Outcome(key, 1.0, EDIT_KEPT, "edited")
            else:
                template = (texts or {}).get(key)
                if template is None:
                    reward = EDIT_UNKNOWN
                else:
                    reward = EDIT_KEPT if kept(template, decision.get("final_text") or "") else EDIT_REWRITTEN
                result[key] = Outcome(key, 1.0, reward, "edited")
    for d in shown:
        if d is chosen:
            continue
        if chosen is not None and (d.get("rank") or 0) > (chosen.get("rank") or 0):
            continue  # below the chosen draft: perhaps never read
        for key in draft_keys(d):
            if key in result:
                continue
            if chosen is None:   # rejected, or the agent wrote their own text
                result[key] = Outcome(key, 1.0, 0.0, "rejected")
            else:
                result[key] = Outcome(key, 1.0, 0.0, "passed_over")
    return list(result.values())


def tally(records: Iterable[Mapping[str, Any]], texts: Optional[Mapping[str, str]] = None,
          templates_version: Optional[str] = None) -> Tuple[Dict[Key, Tally], int]:
    """Tallies per (key, topic, temperament) and per (key, topic, ANY); and how many decisions."""
    tallies: Dict[Key, Tally] = {}
    used = 0
    for record in records:
        if templates_version and (record.get("versions") or {}).get("templates") != templates_version:
            continue
        found = outcomes(record, texts)
        if not found:
            continue
        used += 1
        topic = record.get("topic") or "?"
        temperament = record.get("temperament") or "?"
        for o in found:
            for cell in ((o.key, topic, temperament), (o.key, topic, ANY)):
                tallies.setdefault(cell, Tally()).add(o.weight, o.reward, o.kind)
    return tallies, used


# ---- the scores ------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Acceptance:
    """Learned scores for template pieces and plans, per concern × temperament."""

    tallies: Mapping[Key, Tally]
    prior: Prior = Prior()
    decisions: int = 0
    loaded_at: float = 0.0
    _means: Dict[Key, float] = field(default_factory=dict, repr=False)
    _optimistic: Dict[Key, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        p = self.prior
        for (key, topic, temperament), t in self.tallies.items():
            if temperament != ANY:
                continue
            self._means[(key, topic, ANY)] = (p.mean * p.strength + t.reward) / (p.strength + t.trials)
        for (key, topic, temperament), t in self.tallies.items():
            if temperament == ANY:
                continue
            pooled = self._means[(key, topic, ANY)]
            n = p.cell_strength + t.trials
            mean = (pooled * p.cell_strength + t.reward) / n
            self._means[(key, topic, temperament)] = mean
            self._optimistic[(key, topic, temperament)] = mean + p.explore * math.sqrt(mean * (1 - mean) / (n + 1))

    @classmethod
    def empty(cls, prior: Prior = Prior()) -> "Acceptance":
        return cls({}, prior)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], texts: Optional[Mapping[str, str]] = None,
                     prior: Prior = Prior(), templates_version: Optional[str] = None) -> "Acceptance":
        """`texts` maps variant ids to template text (for which pieces an edit kept);
        default: the current templates."""
        if texts is None:
            texts = template_texts()
        tallies, used = tally(records, texts, templates_version)
        return cls(tallies, prior, used, time.time())

    @classmethod
    def from_store(cls, store, since=None, limit: int = 20000, prior: Prior = Prior(),
                   texts: Optional[Mapping[str, str]] = None) -> "Acceptance":
        return cls.from_records(store.learning.learning_records(since=since, limit=limit), texts, prior)

    def __len__(self) -> int:
        return self.decisions

    def known(self, key: str, topic: str, temperament: str) -> bool:
        return (key, topic, temperament) in self._means or (key, topic, ANY) in self._means

    def mean(self, key: str, topic: str, temperament: str) -> float:
        found = self._means.get((key, topic, temperament))
        if found is not None:
            return found
        return self._means.get((key, topic, ANY), self.prior.mean)

    def optimistic(self, key: str, topic: str, temperament: str) -> float:
        found = self._optimistic.get((key, topic, temperament))
        if found is not None:
            return found
        mean = self.mean(key, topic, temperament)
        return mean + self.prior.explore * math.sqrt(mean * (1 - mean) / (self.prior.cell_strength + 1))

    def lift(self, keys: Sequence[str], topic: str, temperament: str) -> float:
        """How far agents' records move a draft made of `keys` (its pieces and plan) from the
        prior: the sum of each key's posterior mean above or below the prior mean. Pieces all
        drafts of a batch share move them alike, so the ones that differ decide the order."""
        return sum(self.mean(k, topic, temperament) - self.prior.mean for k in dict.fromkeys(keys))

    def tally_for(self, key: str, topic: str, temperament: str = ANY) -> Tally:
        return self.tallies.get((key, topic, temperament), Tally())


def template_texts(replies=None, policy=None) -> Dict[str, str]:
    """Variant id → template text, for the current templates."""
    from assist.shop.templates import load_templates

    return {v.id: v.text for v in load_templates(replies, policy=policy).variants()}


def nlu_reading(parse: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The part of Rasa's parse the learning loop keeps: intent, confidence, top alternatives."""
    parse = parse or {}
    intent = parse.get("intent") or {}
    ranking = [{"name": r.get("name"), "confidence": round(float(r.get("confidence") or 0), 4)}
               for r in (parse.get("intent_ranking") or [])[:3] if isinstance(r, Mapping)]
    reading: Dict[str, Any] = {"intent": intent.get("name"), "ranking": ranking}
    if isinstance(intent.get("confidence"), (int, float)):
        reading["confidence"] = round(float(intent["confidence"]), 4)
    return reading
