"""Where the conversation is, as the composer needs it: the customer's latest dialogue act, slot
values and flags from the case's conversation state, the shop's answer to a question the customer
asked, whether the reading is unsure, and what agents already sent (never drafted again).

The case's first message and a new problem get the concern's own reply set (acknowledge,
apologize, resolve, follow up, consult); every other message inside a case is answered by its act
from replies/turns.yml. (assist/cases/ builds the Turn from the conversation state.)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from assist.drafting.drafts import MAX_DRAFTS, Draft
from assist.drafting.temperament import near_duplicate
from assist.shop.template_shape import ReplyBook, ReplySet
from assist.text.normalize import normalize

FIRST_ACTS = ("opens", "new_problem")
TURN_PREFIX = "turn."


@dataclass(frozen=True)
class Turn:
    act: str = "opens"
    values: Mapping[str, str] = field(default_factory=dict)   # fact_ack, progress, next_step
    flags: FrozenSet[str] = frozenset()                       # work_open, work_done, reluctant
    answer: Optional[Tuple[str, str]] = None                  # (FAQ id, the shop's answer) to the customer's question
    unsure: Tuple[str, ...] = ()                              # why the reading is unsure (the agent reads it)
    avoid: Tuple[str, ...] = ()                               # what agents already sent in this case
    concern: Optional[str] = None                             # answer with this concern's reply set instead
    shown: Tuple[str, ...] = ()                               # the drafts agents saw for the previous message
    refused: Tuple[str, ...] = ()                             # variants of drafts agents rejected in this case
    unsure_first: bool = True                                 # an unsure reading leads with the safe reply


def turn_set(book: ReplyBook, turn: Optional[Turn]) -> Optional[ReplySet]:
    """The reply set for a later message of a case (None: the concern's own set answers)."""
    if turn is None:
        return None
    if turn.concern:
        return book.for_concern(turn.concern)
    if turn.act in FIRST_ACTS:
        return None
    return book.sets.get(TURN_PREFIX + turn.act) or book.sets.get(TURN_PREFIX + "informs")


def is_turn_set(reply_set: ReplySet) -> bool:
    return reply_set.concern.startswith(TURN_PREFIX)


def already_sent(text: str, sent: Sequence[str]) -> bool:
    norm = normalize(text)
    return any(near_duplicate(norm, normalize(s)) for s in sent if s)


def finish(drafts: List[Draft], turn: Turn, compose_act: Callable[[str], List[Draft]]) -> List[Draft]:
    """The drafts an agent sees for this turn, best first: a short, safe reply when the reading is
    unsure; the shop's own answer when the customer asked something it has one for; then the
    composed ones — none that repeats what an agent already sent, 2–3 in all."""
    lead: List[Draft] = []
    if turn.answer:  # the shop's own answer to what they asked beats any hold
        faq_id, text = turn.answer
        lead.append(Draft(text, 1.0, "先答顾客问的 → 店铺政策里的答案", f"faq.{faq_id}", (f"faq.{faq_id}",), "answer"))
    safe: List[Draft] = []
    if turn.unsure and turn.act != "unsure":
        held = compose_act("unsure")
        if held:
            safe.append(replace(held[0], reason="读得不准：" + "；".join(turn.unsure) + " → 先稳住，看清再答", kind="safe"))
    # Unsure, with nothing plain to take up: the safe reply first. With an answer, a choice or a
    # request in the words: that reply first, the safe one next.
    ordered = (lead + safe + drafts) if turn.unsure_first else (lead + drafts[:1] + safe + drafts[1:])
    out: List[Draft] = []
    for draft in ordered:
        if draft.variant_id in turn.refused:
            continue  # an agent rejected it: fresh drafts, or none
        if draft.text not in {d.text for d in out} and not already_sent(draft.text, turn.avoid):
            out.append(draft)
    # The customer said something new: what the agent already saw (and did not send) goes last ...
    fresh = [d for d in out if not already_sent(d.text, turn.shown)]
    out = fresh + [d for d in out if d not in fresh]
    if not turn.unsure_first and len(out) > 1 and out[0].kind == "safe":
        out[0], out[1] = out[1], out[0]  # ... but a hold never rises above a reply that takes up the point
    return out[:MAX_DRAFTS]
