"""Normalise what Chinese shoppers type before anything reads it.

One pass, character by character, that remembers where each output character came
from, so a caller holding character spans (entity annotations) can move them along.
Used by the Rasa graph component ahead of the tokenizer and by the drafting core.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import List, NamedTuple, Optional, Tuple

DEFAULT_MAX_CHARS = 500
# How many copies of a repeated character survive: "啊啊啊啊啊" and "!!!!!!" keep their
# emphasis (mood reads it) without flooding the featurizers.
MAX_REPEAT = 3
COMMAND_PREFIXES = ("/", "／")
# A lone surrogate ("\ud800" from a client that cut an emoji in half) is no character: OpenCC
# cannot encode it and used to crash the whole NLU pipeline. It reads as U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class NormalizedText(NamedTuple):
    text: str
    # source[i] is the index in the original text of output character i.
    source: Tuple[int, ...]

    def map_span(self, start: int, end: int) -> Optional[Tuple[int, int]]:
        """Where the original span [start, end) lies in the normalised text."""
        inside = [i for i, src in enumerate(self.source) if start <= src < end]
        if not inside:
            return None
        return inside[0], inside[-1] + 1


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # imported lazily: start-up of the CLI stays fast

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(_SURROGATE.sub(REPLACEMENT, text))


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _half_width(ch: str) -> str:
    code = ord(ch)
    if code == 0x3000:
        return " "
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    return ch


def _simplify(pairs: List[Tuple[str, int]]) -> List[Tuple[str, int]]:
    text = "".join(ch for ch, _ in pairs)
    converted = to_simplified(text)
    if len(converted) == len(text):
        return [(new, src) for new, (_, src) in zip(converted, pairs)]
    # A phrase changed length (rare): convert character by character to keep offsets.
    return [(to_simplified(ch)[:1] or ch, src) for ch, src in pairs]


def _squeeze_spaces(pairs: List[Tuple[str, int]]) -> List[Tuple[str, int]]:
    """Collapse whitespace; drop it entirely next to Chinese (jieba keeps it as tokens)."""
    out: List[Tuple[str, int]] = []
    i = 0
    while i < len(pairs):
        ch, src = pairs[i]
        if not ch.isspace():
            out.append((ch, src))
            i += 1
            continue
        j = i
        while j < len(pairs) and pairs[j][0].isspace():
            j += 1
        before = out[-1][0] if out else ""
        after = pairs[j][0] if j < len(pairs) else ""
        if before and after and not (_is_cjk(before) or _is_cjk(after)):
            out.append((" ", src))
        i = j
    return out


def _squeeze_repeats(pairs: List[Tuple[str, int]]) -> List[Tuple[str, int]]:
    out: List[Tuple[str, int]] = []
    run = 0
    for ch, src in pairs:
        run = run + 1 if out and out[-1][0] == ch else 1
        # Digits are never squeezed: 1111122222 may be an order number.
        if run > MAX_REPEAT and not ch.isdigit():
            continue
        out.append((ch, src))
    return out


def _drop_command_prefix(pairs: List[Tuple[str, int]]) -> List[Tuple[str, int]]:
    """A leading '/' would let a customer trigger intents (/restart wipes the chat)."""
    i = 0
    while i < len(pairs) and (pairs[i][0] in COMMAND_PREFIXES or pairs[i][0].isspace()):
        i += 1
    return pairs[i:]


_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\ufeff]")


def normalize_with_map(text: Optional[str], max_chars: int = DEFAULT_MAX_CHARS) -> NormalizedText:
    if not text:
        return NormalizedText("", ())
    pairs = [(REPLACEMENT if _SURROGATE.match(ch) else ch, i) for i, ch in enumerate(text) if not _CONTROL.match(ch)]
    pairs = [(_half_width(ch), src) for ch, src in pairs]
    # Compatibility forms that are still one character (ｶ, ①) are left as they are:
    # NFKC may expand one character into several and break the offset map.
    pairs = [
        (folded if len(folded) == 1 else ch, src)
        for ch, src in pairs
        for folded in [unicodedata.normalize("NFKC", ch)]
    ]
    pairs = _simplify(pairs)
    pairs = _squeeze_spaces(pairs)
    pairs = _squeeze_repeats(pairs)
    pairs = _drop_command_prefix(pairs)
    pairs = pairs[:max_chars]
    while pairs and pairs[-1][0].isspace():
        pairs.pop()
    return NormalizedText("".join(ch for ch, _ in pairs), tuple(src for _, src in pairs))


def normalize(text: Optional[str], max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Traditional→simplified, full→half width, squeezed spaces and repeats, capped."""
    return normalize_with_map(text, max_chars).text
