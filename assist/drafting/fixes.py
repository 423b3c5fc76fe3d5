"""One-click fixes for etiquette findings while an agent edits: the finding says what is wrong
and how to say it better (assist/drafting/checker.py); this module turns that advice into a concrete
rewrite of the text the agent can apply with one click, or None where only a person can fix
it (too long, a promise the policy does not allow, a missing fact).

Word rules replace the flagged words; rules about a whole clause (hiding behind rules, blaming
the customer, refusing) replace the clause the words stand in; a missing polite close is added.

A fix never invents a reason or a fact the agent did not give: where one is needed it leaves a
marked gap (GAP, e.g. 【请填写原因】) for the agent to fill. An unfilled gap is itself a block
finding (rule gap.unfilled in etiquette.yml), so it can never reach a customer.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Tuple

CLAUSE_END = "，,。.!！?？;；~～\n"
GAP = "【请填写{}】"
# Rule id → (how much to replace, replacement). "words": the flagged span; "clause": the clause around it.
# A reason or an alternative only the agent knows is a GAP, never a made-up sentence.
REWRITES: Dict[str, Tuple[str, str]] = {
    "refuse.flat": ("clause", "我马上帮您确认一下"),
    "refuse.cannot": ("clause", "这个暂时办不到，不过我可以" + GAP.format("能为顾客做的")),
    "rule.shield": ("clause", "这是因为" + GAP.format("原因")),
    "blame.customer": ("clause", "可能是我们没说清楚，我再帮您看看"),
    "deflect": ("clause", "这件事我来帮您跟进，有结果第一时间告诉您"),
}
# No rewrite: the missing fact (slot.unfilled) or the gap's content (gap.unfilled) must come from the
# agent; length, policy limits and dates need a person's judgement.
CLOSE = "您看这样可以吗？"


def _clause(text: str, start: int, end: int) -> Tuple[int, int]:
    while start > 0 and text[start - 1] not in CLAUSE_END:
        start -= 1
    while end < len(text) and text[end] not in CLAUSE_END:
        end += 1
    return start, end


def _address_fix(fix: str) -> str:
    # "您 / 咱们" offers alternatives: the first is the safe one.
    return re.split(r"\s*/\s*", fix.strip())[0]


def rewrite(text: str, finding: Dict[str, Any]) -> Optional[str]:
    """The text with this finding fixed, or None when no automatic fix is honest."""
    rule = finding.get("rule", "")
    start, end = finding.get("span", (0, 0))
    if not (0 <= start <= end <= len(text)):
        return None
    if rule == "address.nin":
        return text[:start] + _address_fix(finding.get("fix", "您")) + text[end:]
    if rule == "promise.over":
        # 保证/一定 明天到 → 会尽量明天到: the promise becomes an effort, the date stays.
        return text[:start] + ("需要" if text[start:end] == "必须" else "会尽量") + text[end:]
    if rule == "close.polite":
        body = text.rstrip(" 。.!！~～")
        return f"{body}，{CLOSE}" if body else None
    how = REWRITES.get(rule)
    if how is None:
        return None
    scope, replacement = how
    if scope == "clause":
        start, end = _clause(text, start, end)
    fixed = text[:start] + replacement + text[end:]
    return re.sub(r"([，,])\1+", r"\1", fixed).strip("，, ") or None


def with_fixes(text: str, findings: list) -> list:
    """Each finding with `apply`: the whole fixed text, or null."""
    return [dict(f, apply=rewrite(text, f)) for f in findings]
