"""Rasa NLU training files read as plain data, every example with its file and line.

Used by the data checks (kefu_rasa/dev/validate.py) and by mining (never propose what the data
already has); no Rasa import, so it is cheap and works on any bot's data folder.

    - intent: delivery_delay
      examples: |
        - 快递[五天](duration)了还没到        ← Example(intent, text, raw, entities, file, line)
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Tuple, Union

from assist.shop.datafile import load_yaml
from assist.shop.errors import Problem

# [text](entity) · [text](entity:value) · [text]{"entity": "x", "value": "y"}
ANNOTATION = re.compile(r"\[([^\[\]\n]+)\](?:\(([^()\n]+)\)|(\{[^{}\n]*\}))")
_JSON_ENTITY = re.compile(r'"entity"\s*:\s*"([^"]+)"')
# Held-out sentences this long (normalised) must stay out of training and proposals; shorter
# ones are the formulae everyone writes (谢谢, 转人工, 在吗) and collide by chance.
HELD_OUT_FROM = 6
# A held-out sentence inside a longer text (or the reverse) counts from this length.
CONTAINED_FROM = 8


def compact(text: str) -> str:
    """Normalised (simplified, half-width, squeezed) and without spaces: what counts as the same words."""
    from assist.text.normalize import normalize

    return re.sub(r"\s+", "", normalize(text or ""))


@dataclass(frozen=True)
class Example:
    intent: str
    text: str                        # without annotations
    raw: str                         # as written
    entities: Tuple[Tuple[str, str], ...]  # (entity, annotated text)
    file: str
    line: int


@dataclass(frozen=True)
class Lookup:
    kind: str                        # regex | lookup | synonym
    name: str
    file: str
    line: int


def plain(raw: str) -> str:
    return ANNOTATION.sub(lambda m: m.group(1), raw)


def entities_in(raw: str) -> Tuple[Tuple[str, str], ...]:
    found = []
    for m in ANNOTATION.finditer(raw):
        if m.group(2):
            found.append((m.group(2).split(":")[0].strip(), m.group(1)))
        else:
            name = _JSON_ENTITY.search(m.group(3) or "")
            found.append((name.group(1) if name else "", m.group(1)))
    return tuple(found)


def nlu_files(data: Union[str, Path]) -> List[Path]:
    root = Path(data)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def read_file(path: Union[str, Path]) -> Tuple[List[Example], List[Lookup], List[Problem]]:
    data, where, problems = load_yaml(path)
    if problems:
        return [], [], problems
    if not isinstance(data, dict) or not isinstance(data.get("nlu"), list):
        return [], [], []  # rules, stories, domain parts: not NLU
    file = str(path)
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    examples: List[Example] = []
    lookups: List[Lookup] = []
    for i, item in enumerate(data["nlu"]):
        if not isinstance(item, dict):
            problems.append(where.problem(["nlu", i], "an nlu item is a mapping (intent/regex/lookup/synonym)"))
            continue
        kind = next((k for k in ("intent", "regex", "lookup", "synonym") if k in item), None)
        if kind is None:
            problems.append(where.problem(["nlu", i], "an nlu item needs intent:, regex:, lookup: or synonym:"))
            continue
        if kind != "intent":
            lookups.append(Lookup(kind, str(item[kind]), file, where.line(["nlu", i, kind])))
            continue
        block = item.get("examples")
        if not isinstance(block, str):
            problems.append(where.problem(["nlu", i], f"intent {item['intent']}: 'examples' must be a block of '- ' lines"))
            continue
        key_line = where.line(["nlu", i, "examples"])
        examples += _examples(str(item["intent"]), block, file, key_line, lines)
    return examples, lookups, problems


def _examples(intent: str, block: str, file: str, key_line: int, lines: List[str]) -> List[Example]:
    """Each '- ' line of the block, located by searching the file from the examples: key on
    (block scalars keep their lines, so the search only ever moves forward)."""
    out = []
    cursor = key_line  # 1-based line of 'examples:'; the block starts below it
    for entry in block.splitlines():
        stripped = entry.strip()
        if not stripped.startswith("-"):
            continue
        raw = stripped[1:].strip()
        line = cursor + 1
        while line <= len(lines) and lines[line - 1].strip() != stripped:
            line += 1
        if line > len(lines):
            line = cursor + 1
        cursor = line
        out.append(Example(intent, plain(raw).strip(), raw, entities_in(raw), file, line))
    return out


def read_examples(data: Union[str, Path, Iterable[Union[str, Path]]]) -> Tuple[List[Example], List[Lookup], List[Problem]]:
    """Every intent example and regex/lookup/synonym in a folder (or file, or list of files)."""
    paths = nlu_files(data) if isinstance(data, (str, Path)) else [Path(p) for p in data]
    examples: List[Example] = []
    lookups: List[Lookup] = []
    problems: List[Problem] = []
    for path in paths:
        found, found_lookups, found_problems = read_file(path)
        examples += found
        lookups += found_lookups
        problems += found_problems
    return examples, lookups, problems


def held_out_texts(eval_dir: Optional[Path], dev_set: Optional[Path]) -> List[Tuple[str, str]]:
    """(normalised text, where it comes from) for every held-out sentence that exists here.
    Read in place; the texts are compared and never printed."""
    found: List[Tuple[str, str]] = []
    if dev_set is not None and dev_set.is_file():
        with dev_set.open(encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=2):
                found.append((compact(row.get("text") or ""), f"{dev_set}:{number}"))
    if eval_dir is not None:
        tsv = eval_dir / "nlu_eval.tsv"
        if tsv.is_file():
            with tsv.open(encoding="utf-8", newline="") as handle:
                for number, row in enumerate(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=2):
                    found.append((compact(row.get("text") or ""), f"{tsv}:{number}"))
        dialogues = eval_dir / "dialogues.jsonl"
        if dialogues.is_file():
            for number, line in enumerate(dialogues.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                for turn in json.loads(line).get("turns", []):
                    if turn.get("role") == "customer":
                        found.append((compact(turn.get("text") or ""), f"{dialogues}:{number}"))
    return [(text, where) for text, where in found if len(text) >= HELD_OUT_FROM]


class HeldOut:
    """Held-out sentences to keep out of training data and proposals: `find` says which one
    (file:line) a text matches, exactly or, for long ones, by containment."""

    def __init__(self, pairs: Iterable[Tuple[str, str]]):
        self.exact: dict = {}
        for text, where in pairs:
            self.exact.setdefault(text, where)
        self.long = [(t, w) for t, w in self.exact.items() if len(t) >= CONTAINED_FROM]

    def __len__(self) -> int:
        return len(self.exact)

    def find(self, text: str) -> Optional[str]:
        key = compact(text)
        if len(key) < HELD_OUT_FROM:
            return None
        where = self.exact.get(key)
        if where is None:
            where = next((w for t, w in self.long if t in key or (len(key) >= CONTAINED_FROM and key in t)), None)
        return where

    @classmethod
    def load(cls, eval_dir: Optional[Path], dev_set: Optional[Path]) -> "HeldOut":
        return cls(held_out_texts(eval_dir, dev_set))
