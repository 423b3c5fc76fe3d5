"""Data checks for bot builders, every finding as `file:line: what is wrong`.

    python -m kefu_rasa.dev.validate [--data data] [--domain domain.yml] [--eval ../shared/eval]

What `rasa data validate` does not catch:
- the same example twice, or one example under two intents (after normalisation, so
  繁體 and full-width variants count as the same words);
- intents with too few examples (and domain intents with none);
- jieba dictionary lines jieba would misread (`word [frequency] [tag]`, tag in lower case),
  and files in the dictionary folder that are not dictionaries (jieba loads every file);
- entity annotations the domain does not declare, and annotations that do not fall on
  jieba token boundaries (DIET then never sees the entity's tokens whole);
- evaluation sentences (../shared/eval, tests/nlu_dev/dev.tsv) inside training data: those
  sets measure the model only while it has never seen them;
- broken entity annotations (`都[三天(duration)了`), which Rasa silently trains as plain text;
- intents in rules or stories that the domain lacks (`intent: thank`), with file and line
  (Rasa's validator only warns, without either);
- responses that no rule, story or custom action (actions/*.py) sends.
Rasa's own validator (`rasa data validate`) runs first, in this process, unless --no-rasa: its
findings are reported here, less its "utterance not used in any story" warnings, which
cannot see the responses our actions send (the check above replaces them).
Exit code 1 on a problem, 0 when the data is clean (warnings, such as the same example
twice under one intent, are printed and do not fail). `make validate` runs this after
the template/policy lint.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from assist.shop.errors import Problem
from assist.settings import get_settings
from assist.builders.trainingdata import Example, HeldOut, read_examples
from kefu_rasa.dev.validate_dialogue import WARNING, dialogue_problems, rasa_problems, response_problems

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ROOT / "actions"
EVAL_DIR = get_settings().eval_dir
DEV_SET = ROOT / "tests" / "nlu_dev" / "dev.tsv"
MIN_EXAMPLES = 20
DICT_LINE = re.compile(r"\S+( \d+)?( [a-z]+)?")


from assist.builders.trainingdata import compact as _norm  # noqa: E402


# ---- examples ------------------------------------------------------------------------------

def duplicate_problems(examples: Sequence[Example]) -> List[Problem]:
    first: Dict[str, Example] = {}
    problems = []
    for ex in examples:
        key = _norm(ex.text)
        if not key:
            problems.append(Problem(ex.file, ex.line, ex.intent, "empty example"))
            continue
        seen = first.get(key)
        if seen is None:
            first[key] = ex
        elif seen.intent == ex.intent:
            # The normaliser makes 繁體/简体 and full/half-width twins the same words: harmless, redundant.
            problems.append(Problem(ex.file, ex.line, ex.intent,
                                    f"{WARNING}duplicate example {ex.raw!r} (also at {seen.file}:{seen.line}; "
                                    "the normaliser already covers 繁體 and full-width variants)"))
        else:
            problems.append(Problem(ex.file, ex.line, ex.intent,
                                    f"conflicting example {ex.raw!r}: also labelled {seen.intent} at {seen.file}:{seen.line}; keep one label"))
    return problems


def count_problems(examples: Sequence[Example], domain_intents: Sequence[str], minimum: int) -> List[Problem]:
    by_intent: Dict[str, List[Example]] = defaultdict(list)
    for ex in examples:
        by_intent[ex.intent].append(ex)
    problems = []
    for intent, found in sorted(by_intent.items()):
        if len(found) < minimum:
            problems.append(Problem(found[0].file, found[0].line, intent,
                                    f"only {len(found)} examples (at least {minimum}); add varied ones in shoppers' own words"))
    for intent in domain_intents:
        if intent not in by_intent and intent != "nlu_fallback":
            problems.append(Problem("domain.yml", 1, intent, "intent has no training examples"))
    return problems


def entity_problems(examples: Sequence[Example], domain_entities: Sequence[str], domain_file: str) -> List[Problem]:
    known = set(domain_entities)
    problems = []
    for ex in examples:
        for name, value in ex.entities:
            if name not in known:
                problems.append(Problem(ex.file, ex.line, ex.intent,
                                        f"entity {name!r} ([{value}]) is not declared in {domain_file} (entities: {', '.join(sorted(known))})"))
    return problems


def alignment_problems(examples: Sequence[Example], dictionary: Path) -> List[Problem]:
    """Annotations that jieba (with our dictionary and normaliser) splits through."""
    from assist.text.normalize import normalize_with_map
    from assist.builders.trainingdata import ANNOTATION

    annotated = [ex for ex in examples if ex.entities]
    if not annotated:
        return []
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict…" in every run
    tokenizer = jieba.Tokenizer()
    if dictionary.is_dir():
        for path in sorted(dictionary.iterdir()):
            if path.is_file():
                try:
                    tokenizer.load_userdict(str(path))
                except ValueError:
                    pass  # reported by dictionary_problems
    problems = []
    for ex in annotated:
        # Entity offsets in the plain text, the way Rasa computes them.
        offsets, plain, last = [], "", 0
        for m in ANNOTATION.finditer(ex.raw):
            plain += ex.raw[last:m.start()]
            offsets.append((m.group(1), len(plain), len(plain) + len(m.group(1))))
            plain += m.group(1)
            last = m.end()
        plain += ex.raw[last:]
        mapped = normalize_with_map(plain)
        boundaries = {0}
        for _, start, end in tokenizer.tokenize(mapped.text):
            boundaries |= {start, end}
        for value, start, end in offsets:
            span = mapped.map_span(start, end)
            if span and not set(span) <= boundaries:
                tokens = "/".join(t for t, _, _ in tokenizer.tokenize(mapped.text))
                problems.append(Problem(ex.file, ex.line, ex.intent,
                                        f"entity [{value}] does not fall on jieba token boundaries ({tokens}); "
                                        f"add {value!r} to the dictionary in {dictionary}"))
    return problems


# ---- the jieba dictionary ----------------------------------------------------------------

def dictionary_problems(folder: Path) -> List[Problem]:
    if not folder.exists():
        return [Problem(str(folder), 1, "", "dictionary folder is missing (config.yml JiebaTokenizer dictionary_path)")]
    problems = []
    seen: Dict[str, Tuple[str, int]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            continue
        if path.suffix not in (".txt", ".dict", ""):
            problems.append(Problem(str(path), 1, "", "jieba loads every file in the dictionary folder; keep only dictionary files (.txt) here"))
            continue
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(str(path), 1, "", "a jieba dictionary must be UTF-8"))
            continue
        for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
            stripped = line.strip()
            if not stripped:
                continue
            if not DICT_LINE.fullmatch(stripped):
                problems.append(Problem(str(path), number, "", f"{stripped!r}: jieba reads 'word [frequency] [tag]' with single spaces, "
                                                             "a whole-number frequency and a lower-case tag; it would take this whole line as one word"))
                continue
            word = stripped.split(" ")[0]
            if word in seen:
                problems.append(Problem(str(path), number, "", f"{word!r} is already at {seen[word][0]}:{seen[word][1]}"))
            else:
                seen[word] = (str(path), number)
    return problems


# ---- annotations, rules and stories, responses ----------------------------------------------

def annotation_problems(examples: Sequence[Example], domain_entities: Sequence[str]) -> List[Problem]:
    """`[words](entity)` written wrong: Rasa keeps the brackets as text and learns no entity."""
    from assist.builders.trainingdata import ANNOTATION

    entity_like = re.compile(r"\(\s*(" + "|".join(map(re.escape, domain_entities)) + r")\s*(?::[^()]*)?\)") if domain_entities else None
    problems = []
    for ex in examples:
        rest = ANNOTATION.sub("", ex.raw)
        if "[" in rest or "]" in rest or (entity_like is not None and entity_like.search(rest)):
            problems.append(Problem(ex.file, ex.line, ex.intent,
                                    f"broken entity annotation in {ex.raw!r}: write [words](entity), e.g. [三天](duration); "
                                    "Rasa would train the brackets as text"))
    return problems


# ---- evaluation sentences must stay out of training --------------------------------------

def leak_problems(examples: Sequence[Example], held_out: HeldOut) -> List[Problem]:
    problems = []
    for ex in examples:
        where = held_out.find(ex.text)
        if where is not None:
            problems.append(Problem(ex.file, ex.line, ex.intent,
                                    f"this example matches held-out sentence {where}: evaluation text must never be trained on; "
                                    "write your own example instead"))
    return problems


# ---- all of it ----------------------------------------------------------------------------

def _domain(path: Path) -> Tuple[List[str], List[str]]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    intents = [i if isinstance(i, str) else next(iter(i)) for i in data.get("intents", [])]
    entities = [e if isinstance(e, str) else next(iter(e)) for e in data.get("entities", [])]
    return intents, entities


def validate(data: Path = ROOT / "data", domain: Path = ROOT / "domain.yml", dictionary: Optional[Path] = None,
             eval_dir: Optional[Path] = EVAL_DIR, dev_set: Optional[Path] = DEV_SET,
             min_examples: int = MIN_EXAMPLES, actions: Optional[Path] = ACTIONS,
             rasa_config: Optional[Path] = None) -> Tuple[List[Problem], List[str]]:
    """(problems, summary lines). With `rasa_config`, Rasa's own validator runs first."""
    dictionary = dictionary or data / "dict"
    problems = rasa_problems(data, domain, rasa_config) if rasa_config is not None else []
    examples, lookups, read_problems = read_examples(data / "nlu" if (data / "nlu").is_dir() else data)
    problems += read_problems
    intents, entities = _domain(domain)
    problems += annotation_problems(examples, entities)
    problems += dialogue_problems(data, intents, str(domain))
    problems += response_problems(data, domain, actions)
    problems += duplicate_problems(examples)
    problems += count_problems(examples, intents, min_examples)
    problems += entity_problems(examples, entities, str(domain))
    for lookup in lookups:
        if lookup.kind in ("regex", "lookup") and lookup.name not in entities:
            problems.append(Problem(lookup.file, lookup.line, lookup.name,
                                    f"{lookup.kind} {lookup.name!r} names no entity of {domain}; RegexEntityExtractor would extract an undeclared entity"))
    problems += dictionary_problems(dictionary)
    problems += alignment_problems(examples, dictionary)
    held_out = HeldOut.load(eval_dir, dev_set)
    problems += leak_problems(examples, held_out)
    summary = [f"data      {len(examples)} examples in {len({e.intent for e in examples})} intents, {len(lookups)} regexes/lookups",
               f"held out  {len(held_out)} sentences compared (dev set{', ../shared/eval' if eval_dir is not None and eval_dir.is_dir() else ''})"]
    return sorted(problems, key=lambda p: (p.file, p.line)), summary


def _relative(problem: Problem) -> Problem:
    """file:line relative to where the command runs, so editors and terminals can jump to it."""
    try:
        file = str(Path(problem.file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return problem
    return Problem(file, problem.line, problem.path, problem.message.replace(str(Path.cwd()) + "/", ""))


def is_warning(problem: Problem) -> bool:
    return problem.message.startswith(WARNING)


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kefu_rasa.dev.validate", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--domain", type=Path, default=ROOT / "domain.yml")
    parser.add_argument("--dict", type=Path, default=None, help="jieba dictionary folder (default DATA/dict)")
    parser.add_argument("--eval", type=Path, default=EVAL_DIR, help="held-out evaluation folder, read in place (skipped if absent)")
    parser.add_argument("--dev", type=Path, default=DEV_SET, help="the project's dev set")
    parser.add_argument("--min-examples", type=int, default=MIN_EXAMPLES)
    parser.add_argument("--actions", type=Path, default=ACTIONS, help="custom actions, searched for the responses they send")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml", help="for Rasa's own validator")
    parser.add_argument("--no-rasa", action="store_true", help="skip Rasa's own validator (rasa data validate)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    problems, summary = validate(args.data, args.domain, args.dict, args.eval, args.dev, args.min_examples,
                                 args.actions, None if args.no_rasa else args.config)
    for line in summary:
        print(line)
    for problem in problems:
        print(_relative(problem), file=sys.stderr)
    errors = [p for p in problems if not is_warning(p)]
    warnings = len(problems) - len(errors)
    if errors:
        print(f"validate: {len(errors)} problem(s)" + (f", {warnings} warning(s)" if warnings else ""), file=sys.stderr)
        return 1
    print("validate: ok" + (f" ({warnings} warning(s))" if warnings else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
