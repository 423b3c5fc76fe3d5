"""Prepare a handoff: the situation, the ranked drafts and the customer's holding message.

The one entry point the Rasa action and the console's event follower share, so a case
looks the same whichever of them opened it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from assist.composer import compose
from assist.holding import holding_message
from assist.learning import Acceptance
from assist.policy import Policy, load_policy
from assist.situation import Situation, build_situation

# Intents that always need a person (DESIGN.md); an angry or abusive mood on any intent does too.
HANDOFF_INTENTS = frozenset({"complaint", "price_haggle", "delivery_delay", "refund_return", "request_human"})


@dataclass(frozen=True)
class Handoff:
    situation: Situation
    drafts: List[Dict[str, Any]]
    holding_text: str

    @property
    def situation_dict(self) -> Dict[str, Any]:
        return self.situation.to_dict()


def needs_person(intent: Optional[str], situation: Situation) -> bool:
    return intent in HANDOFF_INTENTS or situation.needs_person


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
) -> Handoff:
    """The ranked drafts and the holding message for a situation that goes to a person."""
    policy = policy or load_policy()
    drafts = [draft.to_dict() for draft in compose(situation, policy=policy, acceptance=acceptance)]
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
