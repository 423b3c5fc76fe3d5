"""The shop's data held to the etiquette rules: every text a customer could receive from it.

Loading a data file only checks its shape (assist/shop/); here the checker reads what the
files would say — each reply-template variant filled with the longest sample values, each FAQ
answer, each cause phrase — so a builder's edit that breaks a rule is reported with its file and
line by `python -m assist lint`, and the running servers refuse to start on it
(`load_checked_policy`, `load_checked_templates`).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple, Union

from assist.drafting.checker import check
from assist.shop.errors import DataError, Problem
from assist.shop.policy import Policy, load_policy, policy_path
from assist.shop.rules import RuleBook, load_rules
from assist.shop.template_shape import HOLDING, REQUIRED_STAGES, STAGE_RULE, ReplyBook, Variant, sample_values
from assist.shop.templates import DEFAULT_DIR, load_templates
from assist.text.placeholders import fill

Pathish = Union[str, Path, None]
# Stage rules are the ones ETIQUETTE §2 requires of complaint drafts: check them as such.
_REQUIRE_CONCERN = "complaint"


@lru_cache(maxsize=None)
def _only(rule) -> RuleBook:
    return RuleBook("(one rule)", (rule,))


def variant_problems(v: Variant, policy: Policy, sample: Mapping[str, str], rules: Optional[RuleBook] = None) -> List[Problem]:
    """A variant, filled with the longest sample values, passes the checker as a piece of a draft
    and carries its stage (an apology apologises, a close closes)."""
    text = fill(v.text, sample) or v.text
    problems = [Problem(v.file, v.line, v.path, f"rule {finding.rule} in {v.id}: {finding.why}; fix: {finding.fix} ({text!r})")
                for finding in check(text, policy=policy, whole_message=False, rules=rules)]
    rule_id = STAGE_RULE.get(v.stage)
    # Every apology must apologise and every close must close; the other stage rules bind
    # the concerns ETIQUETTE §2 names (an agent greeting a "转人工" need not empathise).
    binding = v.stage in ("apologize", "consult") or v.concern in REQUIRED_STAGES
    if rule_id and binding and v.concern != HOLDING:
        rule = next((r for r in (rules or load_rules()).rules if r.id == rule_id), None)  # None: that book lacks it
        if rule is not None and check(text, policy=policy, concern=_REQUIRE_CONCERN, rules=_only(rule)):
            problems.append(Problem(v.file, v.line, v.path, f"a {v.stage} variant must satisfy rule {rule_id} ({rule.why}): {text!r}"))
    return problems


def template_problems(book: ReplyBook, policy: Policy, skip: Sequence[Problem] = (),
                      rules: Optional[RuleBook] = None) -> List[Problem]:
    """Every variant of the book, as `variant_problems` checks one (except those at a place in
    `skip`: a variant whose shape is already wrong gets no etiquette noise on top)."""
    sample = sample_values(policy)
    broken = {(p.file, p.line) for p in skip}
    problems = [p for v in book.variants() if (v.file, v.line) not in broken
                for p in variant_problems(v, policy, sample, rules)]
    return sorted(problems, key=lambda p: (p.file, p.line))


def faq_problems(policy: Policy, rules: Optional[RuleBook] = None) -> List[Problem]:
    """Each FAQ answer, filled from this policy, passes the checker as a whole message."""
    values = policy.slots()
    problems = []
    for i, entry in enumerate(policy.faq):
        text = fill(entry.answer, values)
        for finding in check(text or entry.answer, policy=policy, rules=rules):
            problems.append(Problem(policy.source, entry.line, f"faq[{i}].answer",
                                    f"rule {finding.rule}: {finding.why} (in {text!r})"))
    return problems


def cause_problems(cues, policy: Policy, rules: Optional[RuleBook] = None) -> List[Problem]:
    """Causes are pasted into drafts as they are: they must pass the checker too."""
    problems = []
    phrases = [(f"problems.{p.id}.cause", p.cause) for p in cues.problems]
    phrases += [(f"default_causes.{k}", v) for k, v in cues.default_causes.items()]
    for path, phrase in phrases:
        for finding in check(phrase, policy=policy, whole_message=False, rules=rules):
            problems.append(Problem(cues.source, 1, path, f"rule {finding.rule}: {finding.why} ({phrase!r})"))
    return problems


def phrase_problems(acts, policy: Policy, rules: Optional[RuleBook] = None) -> List[Problem]:
    """The state phrases (acts.yml) are pasted into drafts as they are: they must pass the checker."""
    problems = []
    for kind, words in acts.phrases.items():
        for key, phrase in words.items():
            for finding in check(phrase, policy=policy, whole_message=False, rules=rules):
                problems.append(Problem(acts.source, 1, f"phrases.{kind}.{key}", f"rule {finding.rule}: {finding.why} ({phrase!r})"))
    return problems


def load_checked_policy(path: Pathish = None) -> Policy:
    """The policy, refused (DataError with file:line) when an FAQ answer breaks a rule."""
    file = policy_path(path).resolve()
    return _checked_policy(str(file), _stamp(file))


def load_checked_templates(directory: Pathish = None, policy: Optional[Policy] = None) -> ReplyBook:
    """The reply templates, refused (DataError with file:line) when a variant breaks a rule."""
    policy = policy or load_checked_policy()
    folder = Path(directory).resolve() if directory else DEFAULT_DIR
    return _checked_templates(str(folder), tuple(_stamp(f) for f in sorted(folder.glob("*.y*ml"))), policy)


def _stamp(file: Path) -> Tuple[str, int]:
    try:
        return (file.name, file.stat().st_mtime_ns)
    except OSError:
        return (file.name, 0)


@lru_cache(maxsize=8)
def _checked_policy(file: str, _stamp) -> Policy:
    policy = load_policy(file)
    problems = faq_problems(policy)
    if problems:
        raise DataError(problems)
    return policy


@lru_cache(maxsize=8)
def _checked_templates(folder: str, _stamp, policy: Policy) -> ReplyBook:
    book = load_templates(folder, policy=policy)
    problems = template_problems(book, policy)
    if problems:
        raise DataError(problems)
    return book
