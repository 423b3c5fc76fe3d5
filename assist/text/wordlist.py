"""Find listed words in normalised text, minding the contexts that make them harmless.

A word list is data (etiquette rules, mood cues, intent cues). `unless` holds regular
expressions for the traps: a hit inside an `unless` match is not a hit, so 不行 inside
行不行, 一定 inside 一定程度 and 你 inside 迷你 are left alone.
"""
from __future__ import annotations

import re
from typing import Iterable, List, NamedTuple, Optional, Sequence, Tuple

from assist.text.normalize import normalize

_ASCII_WORD = re.compile(r"^[A-Za-z0-9 ]+$")


class Hit(NamedTuple):
    start: int
    end: int
    word: str


def _word_pattern(word: str) -> str:
    escaped = re.escape(word)
    if _ASCII_WORD.match(word) and word[:1].isalpha():
        # "sb" must not fire inside "usb", "ok" not inside "look".
        return rf"(?<![A-Za-z]){escaped}(?![A-Za-z])"
    return escaped


def canonical(word: str) -> str:
    """Words are stored the way normalised customer text spells them (simplified, half width)."""
    return normalize(word, max_chars=10_000) or word


class WordList:
    def __init__(
        self,
        words: Iterable[str] = (),
        unless: Iterable[str] = (),
        patterns: Iterable[str] = (),
    ):
        self.words: Tuple[str, ...] = tuple(sorted({canonical(w) for w in words if w}, key=lambda w: (-len(w), w)))
        parts = [_word_pattern(w) for w in self.words] + list(patterns)
        self._regex: Optional[re.Pattern] = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        unless = [u for u in unless if u]
        self._unless: Optional[re.Pattern] = re.compile("|".join(f"(?:{u})" for u in unless)) if unless else None

    def __bool__(self) -> bool:
        return self._regex is not None

    def find(self, text: str) -> List[Hit]:
        if self._regex is None or not text:
            return []
        hits = [Hit(m.start(), m.end(), m.group(0)) for m in self._regex.finditer(text) if m.end() > m.start()]
        if hits and self._unless is not None:
            shields = [(m.start(), m.end()) for m in self._unless.finditer(text)]
            hits = [h for h in hits if not any(s <= h.start and h.end <= e for s, e in shields)]
        return hits

    def count(self, text: str) -> int:
        return len(self.find(text))

    def matches(self, text: str) -> bool:
        return bool(self.find(text))

    def distinct(self, text: str) -> Tuple[str, ...]:
        seen: List[str] = []
        for hit in self.find(text):
            word = hit.word.lower()
            if word not in seen:
                seen.append(word)
        return tuple(seen)


def regex_problems(patterns: Sequence[str]) -> List[Tuple[int, str]]:
    """(index, error) for every pattern that does not compile — used by the loaders."""
    bad = []
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            bad.append((i, f"invalid regular expression {pattern!r}: {exc}"))
    return bad
