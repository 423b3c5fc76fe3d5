"""Answers the first-line bot gives itself: shipping times, free shipping, returns, payment...

Entries live in policy.yml under `faq:`; the answer is filled from the same policy,
so changing a number in one place changes what the bot says.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Tuple

from assist.text.placeholders import fill
from assist.shop.policy import FaqEntry, Policy
from assist.text.normalize import normalize
from assist.text.wordlist import WordList


@dataclass(frozen=True)
class FaqAnswer:
    id: str
    text: str


@lru_cache(maxsize=16)
def _cue_lists(policy: Policy) -> Tuple[Tuple[FaqEntry, WordList], ...]:
    return tuple((entry, WordList(entry.cues)) for entry in policy.faq)


def answer(text: str, policy: Policy, intent: Optional[str] = None) -> Optional[FaqAnswer]:
    """The best-matching entry's filled answer, or None. With `intent`, only entries
    listing that intent are considered; ties go to the entry written first."""
    norm = normalize(text if isinstance(text, str) else "")
    if not norm:
        return None
    best, best_hits = None, 0
    for entry, cues in _cue_lists(policy):
        if intent is not None and intent not in entry.intents:
            continue
        # Matched characters, not matched words: "退款多久到账" is about refunds even
        # though the shorter shipping cue "多久到" also sits inside it.
        hits = sum(len(hit.word) for hit in cues.find(norm))
        if hits > best_hits:
            best, best_hits = entry, hits
    if best is None:
        return None
    filled = fill(best.answer, policy.slots())
    return FaqAnswer(best.id, filled) if filled else None
