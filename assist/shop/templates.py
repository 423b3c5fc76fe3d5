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
a shape that cannot fit in one chat message (assist/shop/template_shape.py). Whether a
variant breaks an etiquette rule once filled is assist/drafting/shop_checks.py's question.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from assist.shop.datafile import Locator, load_yaml, schema_problems
from assist.shop.errors import DataError, Problem
from assist.shop.intents import INTENTS
from assist.shop.template_shape import (GENERAL, HOLDING, HOLDING_STAGES, SCHEMA, STAGES, TURN_SETS, ReplyBook, ReplySet, Variant,
                                        sample_values, set_problems, variant_problems)
from assist.text.placeholders import slots_in

DEFAULT_DIR = Path(__file__).with_name("replies")
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
        if concern not in INTENTS and concern not in (GENERAL, HOLDING) + TURN_SETS:
            problems.append(where.problem([concern], f"unknown concern {concern!r}; known: {', '.join(INTENTS + (GENERAL, HOLDING) + TURN_SETS)}"))
            continue
        rs = ReplySet(
            concern=concern, shape=tuple(spec["shape"]), optional=tuple(spec.get("optional", ())),
            stages=_variants(concern, spec["stages"], file, where), also=spec.get("also"),
            also_first=bool(spec.get("also_first", False)), file=file,
        )
        stage_names = HOLDING_STAGES if concern == HOLDING else STAGES
        found = set_problems(rs, where, sample, stage_names, rules)
        for stage, by_tone in rs.stages.items():
            for tone, variants in by_tone.items():
                for i, v in enumerate(variants):
                    found += variant_problems(v, where, [concern, "stages", stage, tone, i], sample)
        if rs.also:
            for slot in slots_in(rs.also):
                found.append(where.problem([concern, "also"], f"'also' is said as is; it cannot use slot {{{slot}}}"))
        problems += found
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
    """All reply sets in `directory` (default assist/shop/replies); DataError lists every problem."""
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
