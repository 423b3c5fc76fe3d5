"""The etiquette rules (etiquette.yml) loaded into ready-to-run word lists."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Pattern, Tuple, Union

from assist.shop.datafile import Locator, load_yaml, schema_problems
from assist.shop.errors import DataError, Problem
from assist.text.wordlist import WordList, canonical, regex_problems

DEFAULT_PATH = Path(__file__).with_name("etiquette.yml")

KINDS = ("words", "length", "close", "requires", "emoji",
         "policy_money", "policy_discount", "policy_compensation", "policy_dates")
# block: an agent's text needs an explicit override to be sent; advice: shown with its fix, never
# blocks. Drafts must be free of both (ETIQUETTE §2, "Drafts versus an agent's own text").
SEVERITIES = ("block", "advice")

_STRS = {"type": "array", "items": {"type": "string", "minLength": 1}}
SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rules"],
    "properties": {
        "rules": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "kind", "severity", "why", "fix"],
                "properties": {
                    "id": {"type": "string", "pattern": r"^[a-z][a-z0-9_.]*$"},
                    "kind": {"enum": list(KINDS)},
                    "severity": {"enum": list(SEVERITIES)},
                    "why": {"type": "string", "minLength": 1},
                    "fix": {"type": "string", "minLength": 1},
                    "words": _STRS,
                    "patterns": _STRS,
                    "unless": _STRS,
                    "hedges": _STRS,
                    "excused_by": _STRS,
                    "fixes": {"type": "object", "additionalProperties": {"type": "string"}},
                    "concerns": _STRS,
                    "max": {"type": "integer", "minimum": 1},
                    "endings": _STRS,
                    "multiples": _STRS,
                },
            },
        }
    },
}

# What each kind needs besides id/why/fix, so a half-written rule is caught at load time.
_NEEDS = {"words": ("words|patterns",), "length": ("max",), "close": ("words", "endings"),
          "requires": ("words", "concerns"), "policy_compensation": ("words", "multiples")}


@dataclass(frozen=True, eq=False)
class Rule:
    id: str
    kind: str
    severity: str
    why: str
    fix: str
    words: WordList = field(compare=False)
    fixes: Mapping[str, str] = field(default_factory=dict)
    concerns: Tuple[str, ...] = ()
    max: Optional[int] = None
    endings: Tuple[str, ...] = ()
    multiples: WordList = field(default_factory=WordList, compare=False)
    # Said in the same sentence as a hit, these make it an estimate, not a promise (预计, 一般…天).
    hedges: Optional[Pattern] = None
    # A message matching one of these also says what CAN be done: a refusal there is not flat.
    excused_by: Optional[Pattern] = None

    def fix_for(self, word: str) -> str:
        return self.fixes.get(word, self.fix)


# eq=False: compared and hashed by identity, so it can key caches.
@dataclass(frozen=True, eq=False)
class RuleBook:
    source: str
    rules: Tuple[Rule, ...]

    def get(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    @property
    def max_chars(self) -> int:
        return min((r.max for r in self.rules if r.kind == "length" and r.max), default=150)


def _problems(data: Dict[str, Any], where: Locator) -> List[Problem]:
    problems = []
    seen = set()
    for i, rule in enumerate(data["rules"]):
        # Rules the schema already rejected are checked as far as their shape allows.
        if not (isinstance(rule, dict) and isinstance(rule.get("id"), str) and isinstance(rule.get("kind"), str)):
            continue
        if rule["id"] in seen:
            problems.append(where.problem(["rules", i, "id"], f"duplicate rule id {rule['id']!r}"))
        seen.add(rule["id"])
        for need in _NEEDS.get(rule["kind"], ()):
            if not any(rule.get(k) for k in need.split("|")):
                problems.append(where.problem(["rules", i], f"a {rule['kind']} rule needs {need.replace('|', ' or ')}"))
        for key in ("patterns", "unless", "hedges", "excused_by"):
            patterns = rule.get(key, [])
            if not isinstance(patterns, list):
                continue
            for j, message in regex_problems([p for p in patterns if isinstance(p, str)]):
                problems.append(where.problem(["rules", i, key, j], message))
        fixes, words = rule.get("fixes", {}), rule.get("words", [])
        for word in fixes if isinstance(fixes, dict) else ():
            if word not in (words if isinstance(words, list) else []):
                problems.append(where.problem(["rules", i, "fixes", word], f"fix given for {word!r}, which is not in words"))
    return problems


def _any_of(patterns: List[str]) -> Optional[Pattern]:
    # Regular expressions, like patterns and unless: written the way normalised text reads.
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


def _build(data: Dict[str, Any], source: str) -> RuleBook:
    rules = []
    for r in data["rules"]:
        rules.append(Rule(
            id=r["id"], kind=r["kind"], severity=r["severity"], why=r["why"], fix=r["fix"],
            words=WordList(r.get("words", ()), r.get("unless", ()), r.get("patterns", ())),
            fixes={canonical(k): v for k, v in r.get("fixes", {}).items()},
            concerns=tuple(r.get("concerns", ())),
            max=r.get("max"),
            endings=tuple(canonical(e) for e in r.get("endings", ())),
            multiples=WordList(r.get("multiples", ())),
            hedges=_any_of(r.get("hedges", ())),
            excused_by=_any_of(r.get("excused_by", ())),
        ))
    return RuleBook(source, tuple(rules))


def read_rules(path: Union[str, Path, None] = None) -> Tuple[Optional[RuleBook], List[Problem]]:
    file = Path(path) if path else DEFAULT_PATH
    data, where, problems = load_yaml(file)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [where.problem([], "the rules file must be a mapping with a 'rules' list")]
    # Every problem in one pass: the schema's, then what the schema cannot see (duplicate ids,
    # regular expressions that do not compile, half-written rules).
    problems = schema_problems(data, SCHEMA, where)
    if isinstance(data.get("rules"), list):
        problems += _problems(data, where)
    return (None if problems else _build(data, str(file))), sorted(problems, key=lambda p: p.line)


@lru_cache(maxsize=4)
def load_rules(path: Union[str, Path, None] = None) -> RuleBook:
    book, problems = read_rules(path)
    if problems or book is None:
        raise DataError(problems)
    return book
