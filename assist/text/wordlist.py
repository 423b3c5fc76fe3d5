"""Find listed words in normalised text, minding the contexts that make them harmless.

A word list is data (etiquette rules, mood cues, intent cues). `unless` holds regular
expressions for the traps: a hit inside an `unless` match is not a hit, so 不行 inside
行不行, 一定 inside 一定程度 and 你 inside 迷你 are left alone.
"""
from __future__ import annotations

import re
from typing import Iterable, List, NamedTuple, Optional, Sequence, Tuple

from assist.text.normalize import normalize

try:  # the regular-expression parser, to see which strings a pattern cannot match without
    from re import _constants as _sre, _parser as _sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover - Python 3.10, which Rasa 3.6 runs on
    import sre_constants as _sre
    import sre_parse as _sre_parse

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


def _literal_alternatives(items) -> Optional[List[str]]:
    """(op, av) items of a parsed group: its branches as plain strings, or None if not that simple."""
    c = _sre
    if len(items) == 1 and items[0][0] is c.IN:  # [号码额]: one character of a set
        chars = items[0][1]
        return [chr(av) for _, av in chars] if all(op is c.LITERAL for op, _ in chars) else None
    branches = items[0][1][1] if len(items) == 1 and items[0][0] is c.BRANCH else [items]
    out = []
    for branch in branches:
        if not branch or any(op is not c.LITERAL for op, _ in branch):
            return None
        out.append("".join(chr(av) for _, av in branch))
    return out


def _required(items) -> Optional[List[str]]:
    """Strings one of which every match of the parsed sequence `items` contains, or None when
    that cannot be told simply. Used only to skip a regex that cannot match (a necessary condition)."""
    c = _sre
    if len(items) == 1 and items[0][0] is c.BRANCH:
        found = [_required(list(branch)) for branch in items[0][1][1]]
        return None if any(f is None for f in found) else [lit for f in found for lit in f]
    best: Optional[List[str]] = None
    run = ""

    def better(candidate: List[str]) -> bool:
        return best is None or min(map(len, candidate)) > min(map(len, best))

    for op, av in list(items) + [(None, None)]:
        if op is c.LITERAL:
            run += chr(av)
            continue
        if run and better([run]):
            best = [run]
        run = ""
        if op in (c.SUBPATTERN, c.IN):
            alternatives = _literal_alternatives(list(av[3]) if op is c.SUBPATTERN else [(op, av)])
            if alternatives and all(alternatives) and better(alternatives):
                best = alternatives
    if best is not None and any(re.search(r"[A-Za-z]", lit) for lit in best):
        return None  # case-insensitive letters: no plain substring test
    return best


def _prefilter(pattern: str) -> Optional[Tuple[str, ...]]:
    try:
        found = _required(list(_sre_parse.parse(pattern).data))
    except Exception:  # an exotic pattern: always run it
        return None
    return tuple(found) if found else None


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
        # The words as one alternation; each pattern on its own: one big alternation of patterns that
        # start with look-behinds or optional groups makes the regex engine try every branch at every
        # position, several times slower than running them one by one.
        # Latin words ("sb", "ok") need word boundaries, whose look-behinds would slow the whole
        # alternation down: they get a regex of their own.
        latin = [w for w in self.words if _ASCII_WORD.match(w) and w[:1].isalpha()]
        plain = [w for w in self.words if w not in latin]
        regexes = [(re.compile("|".join(map(_word_pattern, group)), re.IGNORECASE), None) for group in (plain, latin) if group]
        # A pattern runs only on text holding one of the strings every match of it needs.
        regexes += [(re.compile(p, re.IGNORECASE), _prefilter(p)) for p in patterns if p]
        self._regexes: Tuple[Tuple[re.Pattern, Optional[Tuple[str, ...]]], ...] = tuple(regexes)
        unless = [u for u in unless if u]
        self._unless: Optional[re.Pattern] = re.compile("|".join(f"(?:{u})" for u in unless)) if unless else None

    def __bool__(self) -> bool:
        return bool(self._regexes)

    def find(self, text: str) -> List[Hit]:
        if not self._regexes or not text:
            return []
        found = [Hit(m.start(), m.end(), m.group(0)) for regex, needs in self._regexes
                 if needs is None or any(n in text for n in needs)
                 for m in regex.finditer(text) if m.end() > m.start()]
        # Leftmost first, the longer of two at one place; a hit inside an earlier one is the same hit.
        hits: List[Hit] = []
        for hit in sorted(found, key=lambda h: (h.start, -h.end)):
            if not hits or hit.start >= hits[-1].end:
                hits.append(hit)
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
