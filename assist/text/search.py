"""The form search compares texts in: customers type traditional characters as often as
simplified ones, so the query and every stored text are folded alike (破快遞 and 破快递 are one
search). Kept apart from normalize.py, whose every change retrains the NLU model."""
from __future__ import annotations

from typing import Optional

from assist.text.normalize import to_simplified


def _half_width(ch: str) -> str:
    code = ord(ch)
    if code == 0x3000:
        return " "
    return chr(code - 0xFEE0) if 0xFF01 <= code <= 0xFF5E else ch


def search_form(text: Optional[str]) -> str:
    """Simplified characters (OpenCC t2s, as normalize.py), half-width letters and digits, lower
    case. Nothing is cut or squeezed, so a match anywhere in a long message is found."""
    if not text:
        return ""
    return to_simplified("".join(_half_width(ch) for ch in text)).lower()
