"""One customer message read in its conversation: its act, the conversation state after it, the
situation the drafts answer (the case's concerns and mood, not the message's alone) and the turn
the composer needs (slot values and flags from the state, the shop's answer to a question, what
agents already sent). Pure: the case service stores what comes out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence

from assist.cases.acts import masked_facts, read_customer
from assist.cases.state import ConversationState, CustomerReading, after_customer
from assist.drafting import faq
from assist.drafting.situation import Situation, in_conversation
from assist.drafting.turn import Turn
from assist.shop.acts import ActCues, load_acts
from assist.shop.policy import Policy


@dataclass(frozen=True)
class Reading:
    state: ConversationState        # after this message
    customer: CustomerReading       # the message's act and what it brought
    situation: Situation            # what the drafts answer
    turn: Turn


def with_masks(facts: Mapping[str, Any], text: str, waiting_for: Optional[str]) -> Dict[str, Any]:
    """Facts plus what the customer gave in masked form ([订单x]): given, never asked for again."""
    out = dict(facts)
    for fact, value in masked_facts(text, waiting_for).items():
        if not out.get(fact) or fact == waiting_for:
            out[fact] = value
    return out


def read_message(state: ConversationState, text: str, parse: Mapping[str, Any], message: Situation,
                 facts_before: Mapping[str, Any], earlier: Sequence[str], policy: Policy,
                 agent_texts: Sequence[str] = (), cues: Optional[ActCues] = None) -> Reading:
    """`message`: the situation of this message alone (build_situation over it, with every fact
    known now); `earlier`: the customer's words before it; `agent_texts`: what agents sent."""
    cues = cues or load_acts()
    intent = (parse.get("intent") or {}).get("name")
    hit = faq.answer(text, policy, intent=intent) or faq.answer(text, policy)  # the intent's entries first
    customer = read_customer(state, text, parse, message.concerns, message.mood, facts_before, message.facts,
                             earlier, question=hit.id if hit else None, cues=cues)
    after = after_customer(state, customer)
    situation = in_conversation(message, after.concerns, after.mood, after.mood_trend)
    answer = (hit.id, hit.text) if hit is not None and customer.question == hit.id else None
    return Reading(after, customer, situation, turn_for(after, customer, answer, agent_texts, cues))


def read_again(state: ConversationState, message: Situation, agent_texts: Sequence[str] = (),
               cues: Optional[ActCues] = None) -> Reading:
    """The latest message read again after an agent corrected the concern: the case's first reply
    for the corrected concern, nothing new about the customer."""
    customer = CustomerReading(act="new_problem", concerns=state.concerns, mood=message.mood, facts=message.facts)
    situation = in_conversation(message, state.concerns, state.mood, state.mood_trend)
    return Reading(state, customer, situation, turn_for(state, customer, None, agent_texts, cues or load_acts()))


def turn_for(state: ConversationState, customer: CustomerReading, answer, agent_texts: Sequence[str],
             cues: ActCues) -> Turn:
    progress_key = next((key for key in cues.phrases["progress"] if key in state.done), None)
    received = state.asked.what if state.asked is not None and customer.answered else None
    flags = set()
    if state.stage == "done":
        flags.add("work_done")
    elif state.primary:
        flags.add("work_open")
    if customer.reluctant:
        flags.add("reluctant")
    values = {
        "fact_ack": cues.phrase("received", received),
        "progress": cues.phrase("progress", progress_key),
        "next_step": cues.phrase("next_step", state.primary),
    }
    return Turn(act=customer.act, values=values, flags=frozenset(flags), answer=answer, unsure=customer.unclear,
                avoid=tuple(agent_texts))
