"""Prepare a handoff: the situation, the ranked drafts and the customer's holding message.

What the case service (assist/cases/) drafts with; usable alone by any bot:
`prepare(text, intent, …)` gives the situation, 2–3 drafts and the holding message.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from assist.drafting.composer import compose
from assist.drafting.holding import holding_message
from assist.drafting.acceptance import Acceptance
from assist.drafting.faq import FaqAnswer
from assist.shop.intents import PERSON_CONCERNS
from assist.shop.policy import Policy, load_policy
from assist.drafting.situation import Situation, build_situation
from assist.drafting.turn import Turn



@dataclass(frozen=True)
class Handoff:
    situation: Situation
    drafts: List[Dict[str, Any]]
    holding_text: str

    @property
    def situation_dict(self) -> Dict[str, Any]:
        return self.situation.to_dict()


def needs_person(intent: Optional[str], situation: Situation, rules_answer: Optional[FaqAnswer] = None) -> bool:
    """The person concerns (DESIGN.md) always; an angry or abusive mood on any intent too. A calm
    question about the shop's rules that the FAQ answers (`rules_answer`: first_line.rules_question,
    e.g. 七天无理由吗 read as refund_return) needs no person: the answer is the help."""
    if rules_answer is not None and situation.mood not in ("angry", "abusive"):
        return False
    return intent in PERSON_CONCERNS or situation.needs_person


def read_situation(
    text: str,
    intent: Optional[str] = None,
    intent_ranking: Optional[Sequence[Mapping[str, Any]]] = None,
    entities: Optional[Sequence[Mapping[str, Any]]] = None,
    history: Optional[Sequence[str]] = None,
    facts: Optional[Mapping[str, Any]] = None,
) -> Situation:
    """What the customer's words say; cheap enough to decide whether a person is needed."""
    return build_situation(
        text, intent=intent, intent_ranking=intent_ranking, entities=entities,
        history=list(history or []), facts=dict(facts or {}),
    )


def draft_for(
    situation: Situation,
    policy: Optional[Policy] = None,
    now: Optional[datetime] = None,
    acceptance: Optional[Acceptance] = None,
    turn: Optional[Turn] = None,
) -> Handoff:
    """The ranked drafts and the holding message for a situation that goes to a person;
    `turn`: where the case's conversation is (a later message is answered by its act)."""
    policy = policy or load_policy()
    drafts = [draft.to_dict() for draft in compose(situation, policy=policy, acceptance=acceptance, turn=turn)]
    return Handoff(situation, drafts, holding_message(situation, policy, now=now))


def prepare(
    text: str,
    intent: Optional[str] = None,
    intent_ranking: Optional[Sequence[Mapping[str, Any]]] = None,
    entities: Optional[Sequence[Mapping[str, Any]]] = None,
    history: Optional[Sequence[str]] = None,
    facts: Optional[Mapping[str, Any]] = None,
    policy: Optional[Policy] = None,
    now: Optional[datetime] = None,
    acceptance: Optional[Acceptance] = None,
) -> Handoff:
    situation = read_situation(text, intent, intent_ranking, entities, history, facts)
    return draft_for(situation, policy=policy, now=now, acceptance=acceptance)
