"""Reply templates (replies/*.yml) by concern × stage × tone, loaded and validated.

A file maps concern names to a reply set:

    delivery_delay:
      shape: [acknowledge, apologize, resolve, follow_up, consult]
      optional: []              # stages left out while the customer is calm
      also: 物流那边我也会一并帮您催。   # said when this concern rides along another
      stages:
        acknowledge:
          any: ["{cause}，换作是我也会着急的。"]
          calming: [...]
        resolve:
          any:
            - 我这就联系快递核实包裹的位置。
            - {text: 麻烦您发一下订单号，我马上帮您查。, asks: order_id}
            - {text: ..., when: [beyond_policy]}

Every variant gets a stable id `concern.stage.tone.N` (N counts from 1 in file order;
append new variants at the end so learned acceptance stays attached). Loading reports
every problem as `file:line: path: message`: unknown concern, stage, tone, slot or flag,
a variant that breaks an etiquette rule once filled, a shape that cannot fit in one
chat message.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from assist.shop.datafile import Locator, load_yaml, schema_problems
from assist.shop.errors import DataError, Problem
from assist.shop.intents import INTENTS
from assist.text.placeholders import fill, slots_in, stray_braces
from assist.shop.slots import ALL_SLOTS, ASKABLE, FLAGS, SAMPLE_FACTS

DEFAULT_DIR = Path(__file__).with_name("replies")
STAGES: Tuple[str, ...] = ("acknowledge", "apologize", "resolve", "follow_up", "consult")
HOLDING_STAGES: Tuple[str, ...] = ("in_hours", "after_hours", "still_waiting")
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


# ---- validation --------------------------------------------------------------------------

def _variant_problems(v: Variant, where: Locator, path: List[Any], sample: Mapping[str, str]) -> List[Problem]:
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


def _set_problems(rs: ReplySet, where: Locator, sample: Mapping[str, str], stage_names: Sequence[str], rules=None) -> List[Problem]:
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


def _variants(concern: str, stages: Mapping[str, Any], file: str, where: Locator) -> Dict[str, Dict[str, Tuple[Variant, ...]]]:
    out: Dict[str, Dict[str, Tuple[Variant, ...]]] = {}
    for stage, by_tone in stages.items():
        out[stage] = {}
        for tone, items in by_tone.items():
            variants = []
            for i, item in enumerate(items):
                entry = {"text": item} if isinstance(item, str) else item
                text = entry["text"].strip()
                variants.append(Variant(
                    id=f"{concern}.{stage}.{tone}.{i + 1}", concern=concern, stage=stage, tone=tone, text=text,
                    slots=slots_in(text), asks=entry.get("asks"), when=tuple(entry.get("when", ())),
                    file=file, line=where.line([concern, "stages", stage, tone, i]),
                ))
            out[stage][tone] = tuple(variants)
    return out


def read_file(path: Union[str, Path], policy=None, rules=None) -> Tuple[Dict[str, ReplySet], List[Problem]]:
    file = str(path)
    data, where, problems = load_yaml(path)
    if problems:
        return {}, problems
    if not isinstance(data, dict):
        return {}, [where.problem([], "a reply file maps concern names to reply sets")]
    problems = schema_problems(data, SCHEMA, where)
    if problems:
        return {}, problems
    sets: Dict[str, ReplySet] = {}
    sample = sample_values(policy)
    for concern, spec in data.items():
        if concern not in INTENTS and concern not in (GENERAL, HOLDING):
            problems.append(where.problem([concern], f"unknown concern {concern!r}; known: {', '.join(INTENTS + (GENERAL, HOLDING))}"))
            continue
        rs = ReplySet(
            concern=concern, shape=tuple(spec["shape"]), optional=tuple(spec.get("optional", ())),
            stages=_variants(concern, spec["stages"], file, where), also=spec.get("also"),
            also_first=bool(spec.get("also_first", False)), file=file,
        )
        stage_names = HOLDING_STAGES if concern == HOLDING else STAGES
        set_problems = _set_problems(rs, where, sample, stage_names, rules)
        for stage, by_tone in rs.stages.items():
            for tone, variants in by_tone.items():
                for i, v in enumerate(variants):
                    set_problems += _variant_problems(v, where, [concern, "stages", stage, tone, i], sample)
        if rs.also:
            for slot in slots_in(rs.also):
                set_problems.append(where.problem([concern, "also"], f"'also' is said as is; it cannot use slot {{{slot}}}"))
        problems += set_problems
        sets[concern] = rs
    return sets, sorted(problems, key=lambda p: p.line)


def read_templates(directory: Union[str, Path, None] = None, policy=None, rules=None) -> Tuple[Optional[ReplyBook], List[Problem]]:
    """(book, problems): the book of every set that loaded (None: no template files), and every
    problem of shape (`rules` gives the message length, default etiquette.yml's). load_templates
    raises on any problem."""
    from assist.shop.policy import load_policy

    folder = Path(directory) if directory else DEFAULT_DIR
    policy = policy or load_policy()
    files = sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))
    if not files:
        return None, [Problem(str(folder), 1, "", "no reply templates (*.yml) in this folder")]
    sets: Dict[str, ReplySet] = {}
    problems: List[Problem] = []
    for file in files:
        found, file_problems = read_file(file, policy, rules)
        problems += file_problems
        for concern, rs in found.items():
            if concern in sets:
                problems.append(Problem(str(file), 1, concern, f"concern {concern!r} is already defined in {sets[concern].file}"))
            sets[concern] = rs
    for needed in (GENERAL, HOLDING):
        if needed not in sets and not problems:
            problems.append(Problem(str(folder), 1, needed, f"no file defines the {needed!r} reply set"))
    # The sets that did load come back even with problems, so lint can check them further.
    return ReplyBook(sets, tuple(str(f) for f in files)), problems


def load_templates(directory: Union[str, Path, None] = None, policy=None) -> ReplyBook:
    """All reply sets in `directory` (default assist/replies); DataError lists every problem."""
    from assist.shop.policy import load_policy

    policy = policy or load_policy()
    folder = Path(directory).resolve() if directory else DEFAULT_DIR
    stamp = tuple((f.name, f.stat().st_mtime_ns) for f in sorted(folder.glob("*.y*ml"))) if folder.is_dir() else ()
    return _load_cached(str(folder), stamp, policy)


@lru_cache(maxsize=8)
def _load_cached(folder: str, stamp: Tuple, policy) -> ReplyBook:
    book, problems = read_templates(folder, policy)
    if problems or book is None:
        raise DataError(problems)
    return book
