"""The fixed intent names, and the core's own cue-word guess when no NLU is at hand."""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Tuple

if TYPE_CHECKING:
    from .cues import Cues

INTENTS: Tuple[str, ...] = (
    "greet", "goodbye", "thanks", "affirm", "deny", "order_status", "delivery_delay", "complaint",
    "price_haggle", "refund_return", "product_inquiry", "request_human", "out_of_scope",
)
# A person takes these over; the bot only holds the line.
PERSON_CONCERNS: Tuple[str, ...] = ("complaint", "price_haggle", "delivery_delay", "refund_return", "request_human")


def guess_intents(norm_text: str, cues: "Cues") -> List[Tuple[str, float]]:
    """Intents whose cue words appear, best first, with a rough confidence.

    Scores count distinct cue words; ties go to the order of cues.yml (request_human
    first). Greetings, thanks and the like only count when nothing of substance matched:
    "你好，快递怎么还没到" is a delivery delay, not a greeting.
    """
    scored = []
    for rank, (intent, words) in enumerate(cues.intents.items()):
        hits = len(words.distinct(norm_text))
        if hits:
            scored.append((intent, hits, rank))
    substantive = [s for s in scored if s[0] not in cues.social_intents]
    if substantive:
        scored = substantive
    if not scored:
        return [("out_of_scope", 1.0)]
    scored.sort(key=lambda s: (-s[1], s[2]))
    total = sum(s[1] for s in scored)
    return [(intent, round(hits / total, 3)) for intent, hits, _ in scored]
