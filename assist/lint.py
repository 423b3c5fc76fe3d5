"""Validate every data file the drafting core reads: policy, etiquette rules, cues, templates."""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple, Union

from .errors import Problem

Pathish = Union[str, Path, None]


def _cause_problems(cues, policy) -> List[Problem]:
    """Causes are pasted into drafts as they are: they must pass the checker too."""
    from .checker import check

    problems = []
    phrases = [(f"problems.{p.id}.cause", p.cause) for p in cues.problems]
    phrases += [(f"default_causes.{k}", v) for k, v in cues.default_causes.items()]
    for path, phrase in phrases:
        for finding in check(phrase, policy=policy, whole_message=False):
            problems.append(Problem(cues.source, 1, path, f"rule {finding.rule}: {finding.why} ({phrase!r})"))
    return problems


def lint(policy_path: Pathish = None, replies: Pathish = None, rules_path: Pathish = None,
         cues_path: Pathish = None) -> Tuple[List[Problem], List[str]]:
    """(problems, summary lines). Later files are checked only when what they build on loads."""
    from .cues import read_cues
    from .policy import read_policy
    from .rules import read_rules
    from .templates import read_templates

    problems: List[Problem] = []
    summary: List[str] = []
    book, found = read_rules(rules_path)
    problems += found
    if book is not None:
        summary.append(f"rules     {book.source}: {len(book.rules)} rules")
    if found:
        return problems, summary
    policy, found = read_policy(policy_path)
    problems += found
    if policy is not None:
        summary.append(f"policy    {policy.source}: {len(policy.faq)} FAQ entries, coupon ceiling {policy.pricing.coupon_ceiling}元")
    cues, found_cues = read_cues(cues_path)
    problems += found_cues
    if cues is not None:
        summary.append(f"cues      {cues.source}: {len(cues.intents)} intents")
        if policy is not None:
            problems += _cause_problems(cues, policy)
    if policy is not None:
        replies_book, found = read_templates(replies, policy)
        problems += found
        if replies_book is not None:
            count = sum(1 for _ in replies_book.variants())
            summary.append(f"templates {len(replies_book.files)} files, {len(replies_book.sets)} reply sets, {count} variants")
    return problems, summary
