"""`{slot}` placeholders in templates and FAQ answers: find them at load time, fill them at run time.

Like Rasa's interpolator, filling never raises on a missing key; unlike it, unknown
placeholders are refused when the file is loaded, so a typo never reaches a customer.
"""
from __future__ import annotations

import re
from typing import Mapping, Optional, Tuple

SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_STRAY = re.compile(r"[{}]")


def slots_in(text: str) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(SLOT.findall(text)))


def stray_braces(text: str) -> bool:
    """A brace that is not part of a well-formed {slot}: '{order id}', '{{', '}'."""
    return bool(_STRAY.search(SLOT.sub("", text)))


def fill(text: str, values: Mapping[str, str]) -> Optional[str]:
    """The text with every slot filled, or None when any slot has no (non-empty) value."""
    missing = False

    def one(match: "re.Match[str]") -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if value is None or value == "":
            missing = True
            return ""
        return str(value)

    out = SLOT.sub(one, text)
    return None if missing else out
