"""What a customer's message does to an open case (its dialogue act). For now: cancelling the
wait for a person (算了/不用了, or a short no); every other message joins the case and is answered."""
from __future__ import annotations

import re
from typing import Optional

from assist.text.normalize import normalize

CANCEL = re.compile(r"(算了|不用了|不需要了|取消(人工|转人工)?|没事了|不麻烦了)")
CANCEL_REPLY = "好的，已经为您取消人工服务啦～ 如果还有需要，随时找我哦。"


def is_cancel(text: str, intent: Optional[str]) -> bool:
    """A short 算了/不用了, or a plain deny, while waiting for a person."""
    norm = normalize(text)
    return (len(norm) <= 12 and bool(CANCEL.search(norm))) or (intent == "deny" and len(norm) <= 6)
