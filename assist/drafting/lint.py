"""Validate every data file the drafting core reads: policy, etiquette rules, cues, templates.

One pass reports every problem in every file: a file that does not load does not hide the
problems of the others (whatever can still be checked without it is checked). Paths inside the
project are printed relative to its root, the way an editor or CI log links them.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple, Union

from assist.drafting.shop_checks import cause_problems, faq_problems, phrase_problems, template_problems
from assist.settings import ROOT
from assist.shop.errors import Problem

Pathish = Union[str, Path, None]


def relative(path: str) -> str:
    """`path` relative to the project root when it lies inside the project, else as given."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except (ValueError, OSError):
        return path


def _template_shapes(replies: Pathish) -> List[Problem]:
    """Without a policy the templates cannot be filled and checked; their YAML and shape still can."""
    from assist.shop.datafile import load_yaml, schema_problems
    from assist.shop.template_shape import SCHEMA
    from assist.shop.templates import DEFAULT_DIR

    folder = Path(replies) if replies else DEFAULT_DIR
    problems: List[Problem] = []
    for file in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")):
        data, where, found = load_yaml(file)
        problems += found or schema_problems(data, SCHEMA, where)
    return problems


def lint(policy_path: Pathish = None, replies: Pathish = None, rules_path: Pathish = None,
         cues_path: Pathish = None) -> Tuple[List[Problem], List[str]]:
    """(problems, summary lines), every file checked; problems sorted by file and line."""
    from assist.shop.acts import read_acts
    from assist.shop.cues import read_cues
    from assist.shop.policy import policy_path as resolve_policy, read_policy
    from assist.shop.rules import DEFAULT_PATH as RULES_PATH, RuleBook, read_rules
    from assist.shop.templates import read_templates

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
    policy, found = read_policy(policy_path)
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
            problems += cause_problems(cues, policy, rules=book)
    acts, found = read_acts()
    problems += found
    if acts is not None:
        summary.append(f"acts      {relative(acts.source)}: {len(acts.customer)} customer acts, {len(acts.asks)} kinds of question")
        if policy is not None:
            problems += phrase_problems(acts, policy, rules=book)
    if policy is not None:
        problems += faq_problems(policy, rules=book)
        replies_book, found = read_templates(replies, policy, rules=book)
        problems += found
        if replies_book is not None:
            problems += template_problems(replies_book, policy, skip=found, rules=book)
            count = sum(1 for _ in replies_book.variants())
            summary.append(f"templates {len(replies_book.files)} files, {len(replies_book.sets)} reply sets, {count} variants")
    else:
        problems += _template_shapes(replies)
    problems = [Problem(relative(p.file), p.line, p.path, p.message) for p in problems]
    return sorted(problems, key=lambda p: (p.file, p.line)), summary
