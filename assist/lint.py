"""Validate every data file the drafting core reads: policy, etiquette rules, cues, templates.

One pass reports every problem in every file: a file that does not load does not hide the
problems of the others (whatever can still be checked without it is checked). Paths inside the
project are printed relative to its root, the way an editor or CI log links them.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple, Union

from .errors import Problem

Pathish = Union[str, Path, None]
ROOT = Path(__file__).resolve().parent.parent


def relative(path: str) -> str:
    """`path` relative to the project root when it lies inside the project, else as given."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except (ValueError, OSError):
        return path


def _cause_problems(cues, policy, rules) -> List[Problem]:
    """Causes are pasted into drafts as they are: they must pass the checker too."""
    from .checker import check

    problems = []
    phrases = [(f"problems.{p.id}.cause", p.cause) for p in cues.problems]
    phrases += [(f"default_causes.{k}", v) for k, v in cues.default_causes.items()]
    for path, phrase in phrases:
        for finding in check(phrase, policy=policy, whole_message=False, rules=rules):
            problems.append(Problem(cues.source, 1, path, f"rule {finding.rule}: {finding.why} ({phrase!r})"))
    return problems


def _template_shapes(replies: Pathish) -> List[Problem]:
    """Without a policy the templates cannot be filled and checked; their YAML and shape still can."""
    from .datafile import load_yaml, schema_problems
    from .templates import DEFAULT_DIR, SCHEMA

    folder = Path(replies) if replies else DEFAULT_DIR
    problems: List[Problem] = []
    for file in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")):
        data, where, found = load_yaml(file)
        problems += found or schema_problems(data, SCHEMA, where)
    return problems


def lint(policy_path: Pathish = None, replies: Pathish = None, rules_path: Pathish = None,
         cues_path: Pathish = None) -> Tuple[List[Problem], List[str]]:
    """(problems, summary lines), every file checked; problems sorted by file and line."""
    from .cues import read_cues
    from .policy import policy_path as resolve_policy, read_policy
    from .rules import DEFAULT_PATH as RULES_PATH, RuleBook, read_rules
    from .templates import read_templates

    problems: List[Problem] = []
    summary: List[str] = []
    book, found = read_rules(rules_path)
    problems += found
    if book is not None:
        summary.append(f"rules     {relative(book.source)}: {len(book.rules)} rules")
    else:
        # The other files are still checked, for everything but the etiquette rules.
        book = RuleBook("(no rules)", ())
        summary.append(f"rules     {relative(str(rules_path or RULES_PATH))}: does not load; other files checked without etiquette rules")
    policy, found = read_policy(policy_path, rules=book)
    problems += found
    if policy is not None:
        summary.append(f"policy    {relative(policy.source)}: {len(policy.faq)} FAQ entries, coupon ceiling {policy.pricing.coupon_ceiling}元")
    else:
        summary.append(f"policy    {relative(str(resolve_policy(policy_path)))}: does not load; templates checked for YAML and shape only")
    cues, found = read_cues(cues_path)
    problems += found
    if cues is not None:
        summary.append(f"cues      {relative(cues.source)}: {len(cues.intents)} intents")
        if policy is not None:
            problems += _cause_problems(cues, policy, book)
    if policy is not None:
        replies_book, found = read_templates(replies, policy, rules=book)
        problems += found
        if replies_book is not None:
            count = sum(1 for _ in replies_book.variants())
            summary.append(f"templates {len(replies_book.files)} files, {len(replies_book.sets)} reply sets, {count} variants")
    else:
        problems += _template_shapes(replies)
    problems = [Problem(relative(p.file), p.line, p.path, p.message) for p in problems]
    return sorted(problems, key=lambda p: (p.file, p.line)), summary
