"""Reply sets as the drafting code reads them (Variant, ReplySet, ReplyBook) and what one must look
like, whatever the etiquette rules say: known stages, tones, slots and flags; variants short
enough; every shape fitting one chat message; distinct drafts possible. (templates.py loads the
files; holding variants to the etiquette rules is assist/drafting/shop_checks.py's job.)"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from assist.shop.datafile import Locator
from assist.shop.errors import Problem
from assist.shop.slots import ALL_SLOTS, ASKABLE, FLAGS, SAMPLE_FACTS
from assist.text.placeholders import fill, stray_braces

STAGES: Tuple[str, ...] = ("acknowledge", "apologize", "resolve", "follow_up", "consult")
HOLDING_STAGES: Tuple[str, ...] = ("in_hours", "after_hours", "still_waiting", "handed_back")
TONES: Tuple[str, ...] = ("any", "warm", "patient", "calming", "boundary")
PERSON_TONES: Tuple[str, ...] = TONES[1:]
# The reply shape ETIQUETTE §2 requires for these concerns.
REQUIRED_STAGES = {"complaint": ("acknowledge", "apologize", "follow_up", "consult"),
                   "delivery_delay": ("acknowledge", "apologize", "follow_up", "consult")}
# Stage → the etiquette rule its every variant must satisfy, so any composition of
# stages carries the acknowledgement, apology, follow-up and polite close.
STAGE_RULE = {"acknowledge": "require.acknowledge", "apologize": "require.apology",
              "follow_up": "require.follow_up", "consult": "close.polite"}
GENERAL = "general"
# Reply sets for the messages inside a running case, by dialogue act (replies/turns.yml).
TURN_SETS = tuple(f"turn.{act}" for act in ("answers", "pushes", "greets", "acknowledges", "declines", "thanks", "closes",
                                            "new_question", "informs", "requests", "unsure"))
HOLDING = "holding"
MAX_VARIANT_CHARS = 60
# Room a composed draft keeps for an honorific ("欧阳女士，") and an emoji.
RESERVED_CHARS = 6

_TEXTS = {"type": "array", "minItems": 1, "items": {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "additionalProperties": False, "required": ["text"],
         "properties": {"text": {"type": "string", "minLength": 1},
                        "asks": {"type": "string"},
                        "when": {"type": "array", "items": {"type": "string"}}}},
    ]}}
_SET = {
    "type": "object", "additionalProperties": False, "required": ["shape", "stages"],
    "properties": {
        "shape": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
        "optional": {"type": "array", "uniqueItems": True, "items": {"type": "string"}},
        "also": {"type": "string", "minLength": 1, "maxLength": 30},
        "also_first": {"type": "boolean"},
        "stages": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": _TEXTS}},
    },
}
SCHEMA: Dict[str, Any] = {"type": "object", "minProperties": 1, "additionalProperties": _SET}


@dataclass(frozen=True)
class Variant:
    id: str
    concern: str
    stage: str
    tone: str
    text: str
    slots: Tuple[str, ...]
    asks: Optional[str]
    when: Tuple[str, ...]
    file: str
    line: int

    @property
    def path(self) -> str:
        """Where it stands in its file, as problems name it: complaint.stages.resolve.any[0]."""
        number = self.id.rsplit(".", 1)[1]
        return f"{self.concern}.stages.{self.stage}.{self.tone}[{int(number) - 1 if number.isdigit() else number}]"


@dataclass(frozen=True, eq=False)
class ReplySet:
    concern: str
    shape: Tuple[str, ...]
    optional: Tuple[str, ...]
    stages: Mapping[str, Mapping[str, Tuple[Variant, ...]]]
    also: Optional[str]
    also_first: bool
    file: str

    def options(self, stage: str, tone: str) -> Tuple[Variant, ...]:
        """Variants for a tone first, then the ones for any tone."""
        by_tone = self.stages.get(stage, {})
        return tuple(by_tone.get(tone, ())) + (tuple(by_tone.get("any", ())) if tone != "any" else ())

    def variants(self) -> Iterable[Variant]:
        for by_tone in self.stages.values():
            for variants in by_tone.values():
                yield from variants


@dataclass(frozen=True, eq=False)
class ReplyBook:
    sets: Mapping[str, ReplySet]
    files: Tuple[str, ...]

    def for_concern(self, concern: str) -> ReplySet:
        return self.sets.get(concern) or self.sets[GENERAL]

    @property
    def holding(self) -> ReplySet:
        return self.sets[HOLDING]

    def variants(self) -> Iterable[Variant]:
        for reply_set in self.sets.values():
            yield from reply_set.variants()

    def variant(self, variant_id: str) -> Variant:
        return next(v for v in self.variants() if v.id == variant_id)


def variant_problems(v: Variant, where: Locator, path: List[Any], sample: Mapping[str, str]) -> List[Problem]:
    """What a variant must be, whatever the etiquette rules say (assist/drafting/shop_checks.py
    holds the variants to those: loading data never runs the checker)."""
    problems = []
    for slot in v.slots:
        if slot not in ALL_SLOTS:
            problems.append(where.problem(path, f"unknown slot {{{slot}}} in {v.id}; known: {', '.join(sorted(ALL_SLOTS))}"))
    if stray_braces(v.text):
        problems.append(where.problem(path, f"stray '{{' or '}}' in {v.id} (a slot is written {{name}})"))
    for flag in v.when:
        if flag not in FLAGS:
            problems.append(where.problem(path, f"unknown flag {flag!r} in when; known: {', '.join(FLAGS)}"))
    if v.asks is not None:
        if v.asks not in ASKABLE:
            problems.append(where.problem(path, f"asks {v.asks!r}: only {', '.join(ASKABLE)} can be asked for"))
        elif v.asks in v.slots:
            problems.append(where.problem(path, f"{v.id} asks for {v.asks} yet uses {{{v.asks}}}"))
        if v.stage != "resolve":
            problems.append(where.problem(path, "only resolve variants ask for missing facts"))
    if problems:
        return problems
    text = fill(v.text, sample) or v.text
    if len(text) > MAX_VARIANT_CHARS:
        problems.append(where.problem(path, f"{v.id} is {len(text)} characters filled (max {MAX_VARIANT_CHARS}): {text!r}"))
    return problems


def sample_values(policy) -> Dict[str, str]:
    """Every slot at its longest plausible value: what lint fills templates with."""
    return {**policy.slots(), **SAMPLE_FACTS}


def set_problems(rs: ReplySet, where: Locator, sample: Mapping[str, str], stage_names: Sequence[str], rules=None) -> List[Problem]:
    problems = []
    base = [rs.concern]
    for stage in rs.shape:
        if stage not in stage_names:
            problems.append(where.problem(base + ["shape"], f"unknown stage {stage!r}; known: {', '.join(stage_names)}"))
    for stage in rs.optional:
        if stage not in rs.shape:
            problems.append(where.problem(base + ["optional"], f"optional stage {stage!r} is not in shape"))
    for stage in rs.stages:
        if stage not in stage_names:
            problems.append(where.problem(base + ["stages", stage], f"unknown stage {stage!r}; known: {', '.join(stage_names)}"))
        elif stage not in rs.shape:
            problems.append(where.problem(base + ["stages", stage], f"stage {stage!r} has variants but is not in shape"))
        for tone in rs.stages[stage]:
            if tone not in TONES:
                problems.append(where.problem(base + ["stages", stage, tone], f"unknown tone {tone!r}; known: {', '.join(TONES)}"))
    for stage in REQUIRED_STAGES.get(rs.concern, ()):
        if stage not in rs.shape or stage in rs.optional:
            problems.append(where.problem(base + ["shape"], f"{rs.concern} replies must always include {stage} (ETIQUETTE §2)"))
    if problems or rs.concern == HOLDING:
        return problems
    for stage in rs.shape:
        for tone in PERSON_TONES:
            plain = [v for v in rs.options(stage, tone) if not v.when and not v.asks and not (set(v.slots) & _FACT_ONLY)]
            if not plain:
                problems.append(where.problem(base + ["stages", stage], f"tone {tone!r} has no {stage} variant that needs no facts or flags; add one under 'any'"))
    for tone in PERSON_TONES:
        # Some stage must say 您 in every variant, so every draft addresses the customer as 您.
        if not any(rs.options(stage, tone) and all("您" in v.text for v in rs.options(stage, tone)) for stage in rs.shape):
            problems.append(where.problem(base + ["shape"], f"tone {tone!r}: no stage says 您 in every variant, so a draft could miss it"))
            break
    if not problems:
        problems += _fit_problems(rs, where, sample, rules)
    if not any(len(by_tone.get(t, ())) > 1 or len(rs.options(s, t)) > 1 for s, by_tone in rs.stages.items() for t in TONES):
        problems.append(where.problem(base, "needs at least two variants in some stage to offer distinct drafts"))
    return problems


_FACT_ONLY = frozenset({"order_id", "carrier", "product", "days_late", "days_waited", "tracking_no", "last_location",
                        "status_text", "compensation"})


def _fit_problems(rs: ReplySet, where: Locator, sample: Mapping[str, str], rules=None) -> List[Problem]:
    """Every combination of one variant per stage must fit one chat message."""
    from assist.shop.rules import load_rules

    limit = (rules or load_rules()).max_chars - RESERVED_CHARS
    problems = []
    for tone in PERSON_TONES:
        longest = 0
        parts = []
        for stage in rs.shape:
            texts = [fill(v.text, sample) or v.text for v in rs.options(stage, tone)]
            best = max(texts, key=len)
            longest += len(best)
            parts.append(best)
        if longest > limit:
            problems.append(where.problem([rs.concern, "shape"], f"tone {tone!r}: the longest combination is {longest} characters (max {limit}); shorten a variant: {''.join(parts)!r}"))
    return problems
