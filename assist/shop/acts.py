"""Dialogue-act cues (acts.yml), compiled once into word lists: what a customer's message does
inside a case, and what the shop's own message asked, did or promised."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from assist.shop.datafile import load_yaml, schema_problems
from assist.shop.errors import DataError, Problem
from assist.shop.intents import INTENTS, PERSON_CONCERNS
from assist.text.wordlist import WordList, regex_problems

DEFAULT_PATH = Path(__file__).with_name("acts.yml")
CUSTOMER_CUES = ("thanks", "closes", "acknowledges", "reluctant", "declines", "greets", "pushes", "cancels", "requests",
                 "haggles", "question", "informs", "ordered", "wishes", "on_order", "arrived", "no_number")
# The signs of a concern in a message (acts.yml evidence: what each concern needs to be believed).
EVIDENCE = ("words", "problem", "mood", "threat", "waited", "price", "statement")
# What the shop can ask a customer for (the keys of agent.asks), in the order they are looked for.
ASKABLE_FACTS = ("order_id", "waybill", "phone", "address", "photo", "product", "more", "count", "detail", "choice",
                 "confirm")

_STRS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_CUE = {"type": "object", "additionalProperties": False, "minProperties": 1,
        "properties": {"words": _STRS, "patterns": _STRS, "unless": _STRS}}
SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["customer", "evidence", "agent", "phrases"],
    "properties": {
        "customer": {"type": "object", "additionalProperties": False, "required": list(CUSTOMER_CUES),
                     "properties": {name: _CUE for name in CUSTOMER_CUES}},
        "evidence": {"type": "object", "propertyNames": {"enum": list(PERSON_CONCERNS)}, "additionalProperties": {
            "type": "object", "additionalProperties": False, "required": ["needs", "instead"],
            "properties": {"needs": {"type": "array", "minItems": 1, "items": {"enum": list(EVIDENCE)}},
                           "instead": {"enum": [None, *INTENTS]}}}},
        "agent": {"type": "object", "additionalProperties": False,
                  "required": ["asks", "did", "did_for", "conditional", "shows", "promises", "waits"],
                  "properties": {
                      "asks": {"type": "object", "propertyNames": {"enum": list(ASKABLE_FACTS)}, "additionalProperties": _CUE},
                      "did": {"type": "object", "additionalProperties": _CUE},
                      "conditional": _CUE,
                      "did_for": {"type": "object", "additionalProperties": _STRS},
                      "shows": {"type": "object", "propertyNames": {"enum": ["order_id", "product"]},
                                "additionalProperties": _CUE},
                      "promises": _CUE, "waits": _CUE}},
        "phrases": {"type": "object", "additionalProperties": False,
                    "required": ["received", "progress", "next_step", "re_ask", "request_step", "plan"],
                    "properties": {k: {"type": "object", "required": ["default"],
                                       "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 16}}
                                   for k in ("received", "progress", "next_step", "re_ask", "request_step", "plan")}},
    },
}


# eq=False: compared and hashed by identity, so it can key caches.
@dataclass(frozen=True, eq=False)
class ActCues:
    source: str
    customer: Mapping[str, WordList]
    evidence: Mapping[str, Tuple[Tuple[str, ...], Optional[str]]]   # concern → (signs it needs, read instead)
    asks: Tuple[Tuple[str, WordList], ...]   # (fact, cue) in ASKABLE_FACTS order
    did: Mapping[str, WordList]
    did_for: Mapping[str, Tuple[str, ...]]   # a deed → the concerns it speaks to
    conditional: WordList                    # an offer or a plan (可以给您补发, 收到后补发), not a deed
    shows: Mapping[str, WordList]            # the agent's message shows they have the order / the goods in hand
    promises: WordList
    waits: WordList
    phrases: Mapping[str, Mapping[str, str]]   # received / progress / next_step / re_ask → key → words

    def phrase(self, kind: str, key: Optional[str]) -> str:
        words = self.phrases[kind]
        return words.get(key or "default") or words["default"]


def _cue(entry: Mapping[str, Any]) -> WordList:
    return WordList(entry.get("words", ()), entry.get("unless", ()), entry.get("patterns", ()))


def _regex_problems(data: Dict[str, Any], where) -> List[Problem]:
    problems = []
    cues = [(["customer", k], v) for k, v in data["customer"].items()]
    cues += [(["agent", "asks", k], v) for k, v in data["agent"]["asks"].items()]
    cues += [(["agent", "did", k], v) for k, v in data["agent"]["did"].items()]
    cues += [(["agent", "shows", k], v) for k, v in data["agent"]["shows"].items()]
    cues += [(["agent", k], data["agent"][k]) for k in ("promises", "waits", "conditional")]
    for path, entry in cues:
        for key in ("patterns", "unless"):
            for j, message in regex_problems(entry.get(key, [])):
                problems.append(where.problem(path + [key, j], message))
    return problems


def read_acts(path: Union[str, Path, None] = None) -> Tuple[Optional[ActCues], List[Problem]]:
    file = Path(path) if path else DEFAULT_PATH
    data, where, problems = load_yaml(file)
    if problems:
        return None, problems
    problems = schema_problems(data, SCHEMA, where) if isinstance(data, dict) else [
        where.problem([], "the acts file must be a mapping")]
    if problems:
        return None, problems
    problems = _regex_problems(data, where)
    if problems:
        return None, problems
    agent = data["agent"]
    return ActCues(
        source=str(file),
        customer={name: _cue(entry) for name, entry in data["customer"].items()},
        evidence={c: (tuple(e["needs"]), e["instead"]) for c, e in data["evidence"].items()},
        asks=tuple((fact, _cue(agent["asks"][fact])) for fact in ASKABLE_FACTS if fact in agent["asks"]),
        did={name: _cue(entry) for name, entry in agent["did"].items()},
        did_for={k: tuple(v) for k, v in agent["did_for"].items()}, conditional=_cue(agent["conditional"]),
        shows={k: _cue(v) for k, v in agent["shows"].items()},
        promises=_cue(agent["promises"]), waits=_cue(agent["waits"]),
        phrases={kind: dict(words) for kind, words in data["phrases"].items()},
    ), []


@lru_cache(maxsize=4)
def load_acts(path: Union[str, Path, None] = None) -> ActCues:
    acts, problems = read_acts(path)
    if problems or acts is None:
        raise DataError(problems)
    return acts
