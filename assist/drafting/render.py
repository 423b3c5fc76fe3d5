"""Putting a draft's pieces together into one chat message."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

from assist.drafting.situation import Situation
from assist.shop.template_shape import ReplyBook, ReplySet, Variant
from assist.text.placeholders import fill


def also_set(situation: Situation, book: ReplyBook) -> Optional[ReplySet]:
    """The reply set of a second concern that rides along (its `also` sentence is said too)."""
    for concern in situation.concerns:
        if concern != situation.topic and concern in book.sets and book.sets[concern].also:
            return book.sets[concern]
    return None


def render(pieces: Sequence[Variant], values: Mapping[str, str], address: Optional[str], also: Optional[ReplySet],
           emoji: Optional[str]) -> str:
    """One chat message from a draft's pieces: the slots filled, the `also` sentence, the form of
    address and the channel's emoji."""
    texts = [fill(v.text, values) or "" for v in pieces]
    if also is not None:
        if also.also_first:
            texts.insert(0, also.also)
        else:
            at = next((i + 1 for i, v in enumerate(pieces) if v.stage == "resolve"), len(texts) - 1)
            texts.insert(at, also.also)
    text = "".join(texts)
    if address:
        text = f"{address}，{text}"
    if emoji:
        text += emoji
    return text
