"""The etiquette checker: every rule of ETIQUETTE §2 plus the shop-policy guard.

Callable on any text (a draft, an agent's edit). Rules come from etiquette.yml; each
finding carries the rule id, its severity, the span in the ORIGINAL text, why it matters
and a fix. Text is matched after normalisation, so traditional characters and full-width
punctuation are caught too.

Severity: a draft must have no finding at all; an agent's own text is held back only by
`block` findings (`blocking()`), while `advice` is shown with its fix and never blocks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from assist.drafting import guard
from assist.shop.policy import Policy, load_policy
from assist.shop.rules import Rule, RuleBook, load_rules
from assist.text.normalize import normalize_with_map

_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B50\u2B55]")
_SENTENCE_END = re.compile(r"[。.!?;；]")
# Decoration a message may end with after its real last word.
_TRAILING = " ~～。.!…\u3000"


@dataclass(frozen=True)
class Finding:
    rule: str
    span: Tuple[int, int]
    why: str
    fix: str
    severity: str = "block"

    @property
    def blocks(self) -> bool:
        return self.severity == "block"

    def to_dict(self) -> Dict[str, object]:
        return {"rule": self.rule, "severity": self.severity, "span": list(self.span), "why": self.why, "fix": self.fix}


def blocking(findings: Iterable["Finding"]) -> List["Finding"]:
    """The findings that hold an agent's text back until fixed or explicitly overridden."""
    return [f for f in findings if f.blocks]


def _last_sentence(norm: str) -> Tuple[int, int]:
    end = len(norm)
    while end > 0 and (norm[end - 1] in _TRAILING or _EMOJI.match(norm[end - 1])):
        end -= 1
    # A closing '?' belongs to the sentence it ends.
    start = end - 1 if end and norm[end - 1] == "?" else end
    while start > 0 and not _SENTENCE_END.match(norm[start - 1]):
        start -= 1
    return start, end


def _sentence_around(norm: str, start: int, end: int) -> Tuple[int, int]:
    while start > 0 and not _SENTENCE_END.match(norm[start - 1]):
        start -= 1
    while end < len(norm) and not _SENTENCE_END.match(norm[end]):
        end += 1
    return start, end


def _hedged(rule: Rule, norm: str, span: Tuple[int, int]) -> bool:
    """An estimate (预计周五前送到, 一般3天内到账) said in the hit's sentence is not a promise."""
    if rule.hedges is None:
        return False
    start, end = _sentence_around(norm, *span)
    return rule.hedges.search(norm, start, end) is not None


def _closes_politely(rule: Rule, norm: str) -> Optional[Tuple[int, int]]:
    """None when the message ends with a question or a polite close; else the last sentence."""
    start, end = _last_sentence(norm)
    sentence = norm[start:end]
    core = sentence.rstrip("?" + _TRAILING)
    if sentence.endswith("?") or any(core.endswith(e) for e in rule.endings if e != "?"):
        return None
    if rule.words.matches(sentence):
        return None
    return (start, end) if end > start else (0, len(norm))


def check(
    text: Optional[str],
    policy: Optional[Policy] = None,
    concern: Optional[str] = None,
    channel: Optional[str] = None,
    rules: Optional[RuleBook] = None,
    whole_message: bool = True,
) -> List["Finding"]:
    """Every rule broken by `text`, in text order.

    `concern` switches on the structure rules for complaint and delivery-delay drafts;
    `channel` switches on the emoji rule; `whole_message=False` checks a fragment (one
    template stage), where the close and structure rules cannot apply yet.
    """
    text = text if isinstance(text, str) else ("" if text is None else str(text))
    if not text.strip():
        return []
    book = rules or load_rules()
    pol = policy or load_policy()
    mapped = normalize_with_map(text, max_chars=len(text) + 1)
    norm, source = mapped.text, mapped.source

    def orig(span: Tuple[int, int]) -> Tuple[int, int]:
        start, end = span
        if not source:
            return (0, len(text))
        if start >= len(source):
            return (len(text), len(text))
        return (source[start], source[max(start, end - 1)] + 1 if end > start else source[start])

    raw: List[Tuple[Tuple[int, int], int, Finding]] = []

    def add(order: int, rule: Rule, span: Tuple[int, int], why: str, fix: str, original: bool = False) -> None:
        if not original and _hedged(rule, norm, span):
            return
        where = span if original else orig(span)
        raw.append((where, order, Finding(rule.id, where, why, fix, rule.severity)))

    for order, rule in enumerate(book.rules):
        kind = rule.kind
        if rule.excused_by is not None and rule.excused_by.search(norm):
            continue
        if kind == "words":
            for hit in rule.words.find(norm):
                add(order, rule, (hit.start, hit.end), f"“{hit.word}”：{rule.why}", rule.fix_for(hit.word))
        elif kind == "length":
            limit = rule.max or book.max_chars
            if len(text) > limit:
                add(order, rule, (limit, len(text)), f"{len(text)}字，超过{limit}字：{rule.why}", rule.fix, original=True)
        elif kind == "close" and whole_message:
            span = _closes_politely(rule, norm)
            if span is not None:
                add(order, rule, span, rule.why, rule.fix)
        elif kind == "requires" and whole_message:
            if concern in rule.concerns and not rule.words.matches(norm):
                add(order, rule, (0, len(text)), rule.why, rule.fix, original=True)
        elif kind == "emoji" and channel is not None and pol.emoji_for(channel) is None:
            for m in _EMOJI.finditer(norm):
                add(order, rule, (m.start(), m.end()), rule.why, rule.fix)
        elif kind.startswith("policy_"):
            for start, end, detail in _guard_hits(rule, norm, pol):
                add(order, rule, (start, end), f"{rule.why}（{detail}）", rule.fix)
            if kind == "policy_dates":
                for hit in rule.words.find(norm):
                    add(order, rule, (hit.start, hit.end), f"“{hit.word}”：{rule.why}", rule.fix_for(hit.word))
    raw.sort(key=lambda item: (item[0][0], item[1]))
    return [finding for _, _, finding in raw]


def _guard_hits(rule: Rule, norm: str, policy: Policy) -> List[guard.GuardHit]:
    if rule.kind == "policy_money":
        return guard.money_over_ceiling(norm, policy)
    if rule.kind == "policy_discount":
        return guard.discount_below_floor(norm, policy)
    if rule.kind == "policy_compensation":
        return guard.compensation_not_allowed(norm, policy, rule.words, rule.multiples)
    if rule.kind == "policy_dates":
        return guard.dates_not_in_policy(norm, policy)
    return []

