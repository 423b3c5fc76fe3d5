"""Cue words (cues.yml) the Situation reads, compiled once into word lists."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from assist.shop.datafile import Locator, load_yaml, schema_problems
from assist.shop.errors import DataError, Problem
from assist.shop.intents import INTENTS, PERSON_CONCERNS
from assist.text.wordlist import WordList, regex_problems

DEFAULT_PATH = Path(__file__).with_name("cues.yml")
MOODS = ("calm", "anxious", "angry", "abusive")

_STRS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_CUE = {"type": "object", "additionalProperties": False, "required": ["words"],
        "properties": {"words": _STRS, "unless": _STRS, "patterns": _STRS}}
_INT = {"type": "integer", "minimum": 0}
SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["intents", "social_intents", "problems", "default_causes", "mood", "threats", "temperament",
                 "needs", "carriers", "urgency"],
    "properties": {
        "intents": {"type": "object", "propertyNames": {"enum": list(INTENTS)}, "additionalProperties": _CUE},
        "social_intents": {"type": "array", "items": {"enum": list(INTENTS)}},
        "problems": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False, "required": ["words", "cause"],
            "properties": {"words": _STRS, "cause": {"type": "string", "minLength": 1, "maxLength": 16},
                           "concern": {"enum": list(PERSON_CONCERNS)}}}},
        "default_causes": {"type": "object", "propertyNames": {"enum": list(INTENTS)},
                           "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 16}},
        "mood": {"type": "object", "additionalProperties": False,
                 "required": ["abusive", "angry", "annoyed", "anxious", "angry_emoji", "anxious_emoji"],
                 "properties": {"abusive": _CUE, "angry": _CUE, "annoyed": _CUE, "anxious": _CUE,
                                "angry_emoji": _STRS, "anxious_emoji": _STRS}},
        "threats": {"type": "object", "additionalProperties": {"oneOf": [_STRS, _CUE]}},
        "temperament": {"type": "object", "additionalProperties": False,
                        "required": ["reasoning", "persistent", "unreasonable", "bargaining_by_threat",
                                     "large_demand_yuan"],
                        "properties": {"reasoning": _STRS, "persistent": _STRS, "unreasonable": _STRS,
                                       "bargaining_by_threat": _STRS, "large_demand_yuan": _INT}},
        "needs": {"type": "object", "propertyNames": {"enum": list(INTENTS)}, "additionalProperties": _STRS},
        "carriers": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "urgency": {"type": "object", "additionalProperties": False,
                    "required": ["concern", "mood", "rising", "per_threat", "threat_max", "per_day_late",
                                 "days_late_max", "per_repeat", "repeat_max", "vip"],
                    "properties": {"concern": {"type": "object", "additionalProperties": _INT},
                                   "mood": {"type": "object", "propertyNames": {"enum": list(MOODS)},
                                            "additionalProperties": _INT},
                                   **{k: _INT for k in ("rising", "per_threat", "threat_max", "per_day_late",
                                                        "days_late_max", "per_repeat", "repeat_max", "vip")}}},
    },
}


@dataclass(frozen=True)
class CauseCue:
    """A detail of what went wrong for the customer, named in the acknowledgement."""

    id: str
    words: WordList
    cause: str
    concern: Optional[str] = None  # a broken cup is a complaint even if the customer only asks for a refund


# eq=False: compared and hashed by identity, so it can key caches.
@dataclass(frozen=True, eq=False)
class Cues:
    source: str
    intents: Mapping[str, WordList]
    social_intents: Tuple[str, ...]
    problems: Tuple[CauseCue, ...]
    default_causes: Mapping[str, str]
    abusive: WordList
    angry: WordList
    annoyed: WordList
    anxious: WordList
    angry_emoji: Tuple[str, ...]
    anxious_emoji: Tuple[str, ...]
    threats: Mapping[str, WordList]
    reasoning: WordList
    persistent: WordList
    unreasonable: WordList
    large_demand_yuan: int
    needs: Mapping[str, Tuple[str, ...]]
    carriers: WordList
    carrier_names: Mapping[str, str]
    urgency: Mapping[str, Any]


def _cue(entry: Mapping[str, Any]) -> WordList:
    return WordList(entry.get("words", ()), entry.get("unless", ()), entry.get("patterns", ()))


def _problems(data: Dict[str, Any], where: Locator) -> List[Problem]:
    problems = []

    def regexes(path: List[Any], patterns: List[str]) -> None:
        for j, message in regex_problems(patterns):
            problems.append(where.problem(path + [j], message))

    for intent, entry in data["intents"].items():
        for key in ("patterns", "unless"):
            regexes(["intents", intent, key], entry.get(key, []))
    for level in ("abusive", "angry", "annoyed", "anxious"):
        regexes(["mood", level, "unless"], data["mood"][level].get("unless", []))
    regexes(["temperament", "bargaining_by_threat"], data["temperament"]["bargaining_by_threat"])
    for kind, entry in data["threats"].items():
        for key in ("patterns", "unless"):
            regexes(["threats", kind, key], entry.get(key, []) if isinstance(entry, dict) else [])
    for concern in data["urgency"]["concern"]:
        if concern not in PERSON_CONCERNS:
            problems.append(where.problem(["urgency", "concern", concern], f"{concern!r} is not a concern needing a person"))
    return problems


def _build(d: Dict[str, Any], source: str) -> Cues:
    mood, temp = d["mood"], d["temperament"]
    return Cues(
        source=source,
        intents={name: _cue(entry) for name, entry in d["intents"].items()},
        social_intents=tuple(d["social_intents"]),
        problems=tuple(CauseCue(k, WordList(v["words"]), v["cause"], v.get("concern")) for k, v in d["problems"].items()),
        default_causes=dict(d["default_causes"]),
        abusive=_cue(mood["abusive"]), angry=_cue(mood["angry"]), annoyed=_cue(mood["annoyed"]),
        anxious=_cue(mood["anxious"]),
        angry_emoji=tuple(mood["angry_emoji"]), anxious_emoji=tuple(mood["anxious_emoji"]),
        threats={kind: WordList(v) if isinstance(v, list) else _cue(v) for kind, v in d["threats"].items()},
        reasoning=WordList(temp["reasoning"]), persistent=WordList(temp["persistent"]),
        unreasonable=WordList(temp["unreasonable"], patterns=temp["bargaining_by_threat"]),
        large_demand_yuan=temp["large_demand_yuan"],
        needs={k: tuple(v) for k, v in d["needs"].items()},
        carriers=WordList(d["carriers"].keys()),
        carrier_names={k.lower(): v for k, v in d["carriers"].items()},
        urgency=d["urgency"],
    )


def read_cues(path: Union[str, Path, None] = None) -> Tuple[Optional[Cues], List[Problem]]:
    file = Path(path) if path else DEFAULT_PATH
    data, where, problems = load_yaml(file)
    if problems:
        return None, problems
    problems = schema_problems(data, SCHEMA, where) if isinstance(data, dict) else [
        where.problem([], "the cues file must be a mapping")]
    if problems:
        return None, problems
    problems = _problems(data, where)
    return (None if problems else _build(data, str(file))), problems


@lru_cache(maxsize=4)
def load_cues(path: Union[str, Path, None] = None) -> Cues:
    cues, problems = read_cues(path)
    if problems or cues is None:
        raise DataError(problems)
    return cues


def guess_intents(norm_text: str, cues: Cues) -> List[Tuple[str, float]]:
    """Intents whose cue words appear, best first, with a rough confidence.

    Scores count distinct cue words; ties go to the order of cues.yml (request_human
    first). Greetings, thanks and the like only count when nothing of substance matched:
    "你好，快递怎么还没到" is a delivery delay, not a greeting.
    """
    scored = []
    for rank, (intent, words) in enumerate(cues.intents.items()):
        hits = len(words.distinct(norm_text))
        if hits:
            scored.append((intent, hits, rank))
    substantive = [s for s in scored if s[0] not in cues.social_intents]
    if substantive:
        scored = substantive
    if not scored:
        return [("out_of_scope", 1.0)]
    scored.sort(key=lambda s: (-s[1], s[2]))
    total = sum(s[1] for s in scored)
    return [(intent, round(hits / total, 3)) for intent, hits, _ in scored]
