"""Validate every data file the drafting core reads: policy, etiquette rules, cues, templates."""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple, Union

from assist.drafting.shop_checks import cause_problems, faq_problems, template_problems
from assist.shop.errors import Problem

Pathish = Union[str, Path, None]


def lint(policy_path: Pathish = None, replies: Pathish = None, rules_path: Pathish = None,
         cues_path: Pathish = None) -> Tuple[List[Problem], List[str]]:
    """(problems, summary lines). Later files are checked only when what they build on loads."""
    from assist.shop.cues import read_cues
    from assist.shop.policy import read_policy
    from assist.shop.rules import read_rules
    from assist.shop.templates import read_templates

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
            problems += cause_problems(cues, policy)
    if policy is not None:
        problems += faq_problems(policy)
        replies_book, found = read_templates(replies, policy)
        problems += found
        if replies_book is not None:
            problems += template_problems(replies_book, policy, skip=found)
            count = sum(1 for _ in replies_book.variants())
            summary.append(f"templates {len(replies_book.files)} files, {len(replies_book.sets)} reply sets, {count} variants")
    return problems, summary
