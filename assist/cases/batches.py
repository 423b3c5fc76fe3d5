"""Fresh batches of drafts for an open case, made against its conversation state: after a
customer's message, after an agent corrects the concern, after an agent rejects the drafts.
The case service (assist/cases/service.py) decides when; this module reads the case and stores
the batch (the order looked up, the shop's chat context, agents' acceptance, the versions)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Dict, Mapping, Optional

from assist.cases.conversation import Reading, read_again, read_latest_again, read_message, with_masks
from assist.cases.facts import PHOTO_FACT, gather
from assist.cases.state import ConversationState, after_customer, state_of
from assist.drafting.acceptance import Acceptance, nlu_reading
from assist.drafting.handoff import Handoff, draft_for, read_situation
from assist.shop.policy import Policy
from assist.shop.versions import current_versions
from assist.store import SuggestionStore


class CaseDrafts:
    def __init__(self, store: SuggestionStore, find_order: Optional[Callable[[str], Any]],
                 policy: Callable[[], Policy], acceptance: Callable[[], Optional[Acceptance]]):
        self.store, self.find_order, self.policy, self.acceptance = store, find_order, policy, acceptance

    def _latest(self, detail: Dict[str, Any], state: ConversationState, parse: Mapping[str, Any], entities=()):
        """The customer's latest words, those before, and the situation of the latest alone."""
        said = [m["text"] for m in detail["messages"] if m["sender"] == "customer"]
        text, earlier = (said[-1] if said else ""), said[:-1]
        facts = with_masks(gather(state.facts, entities, {}, self.store.customers.chat_context(detail["conversation_id"]),
                                  self.find_order), text, state.waiting_for)
        if any(m.get("image_id") for m in detail["messages"] if m["sender"] == "customer"):
            facts["photo"] = PHOTO_FACT
        intent = (parse.get("intent") or {}).get("name")
        situation = read_situation(text, intent, parse.get("intent_ranking"), entities or None, earlier, facts)
        return text, earlier, situation

    def read(self, case_id: str, parse: Mapping[str, Any], corrected: Optional[ConversationState] = None) -> Reading:
        """The customer's latest message (already in the transcript) read in its conversation;
        with `corrected`, read again after an agent's correction (no new act)."""
        detail = self.store.cases.get_case(case_id)
        state = corrected or state_of(detail)
        text, earlier, situation = self._latest(detail, state, parse, parse.get("entities") or ())
        agent_texts = [m["text"] for m in detail["messages"] if m["sender"] == "agent"]
        channel = detail.get("channel")
        if corrected is not None:
            return read_again(corrected, situation, agent_texts, channel=channel)
        said = self._said(detail)
        read = read_message(state, text, parse, situation, state.facts, earlier, self.policy(), agent_texts,
                            channel=channel, photo=bool(said and said[-1].get("image_id")))
        shown = tuple(d["text"] for d in detail.get("drafts") or ())  # the agent saw these for the last message
        return replace(read, turn=replace(read.turn, shown=shown))

    def redraft(self, case_id: str, parse: Mapping[str, Any], read: Reading, change_state: bool = True) -> int:
        """Fresh drafts for the customer's latest words, against the conversation state."""
        handoff = self.draft(read)

        def with_this_message(current: Dict[str, Any]) -> Dict[str, Any]:
            # Applied to the stored state under its lock: an agent's send that landed meanwhile stays.
            stored = ConversationState.from_dict(current)
            if stored.customer_turns == read.state.customer_turns - 1:
                return after_customer(stored, read.customer).to_dict()
            return read.state.to_dict()

        return self.store.cases.redraft(case_id, self.stored(handoff, parse), handoff.drafts, versions=current_versions(),
                                        conversation_change=with_this_message if change_state else None)

    def after_reject(self, case_id: str) -> int:
        """A new batch after an agent rejected the drafts: the latest message read again (same act,
        same state), without any variant agents rejected in this case. It may be empty: then
        there is nothing else to offer and the agent writes the reply."""
        detail = self.store.cases.get_case(case_id)
        state = state_of(detail)
        parse = self.last_parse(detail)
        text, _, situation = self._latest(detail, state, parse)
        agent_texts = [m["text"] for m in detail["messages"] if m["sender"] == "agent"]
        read = read_latest_again(state, text, (parse.get("intent") or {}).get("name"), situation, self.policy(),
                                 agent_texts, refused=self.store.decisions.rejected_variants(case_id), channel=detail.get("channel"),
                                 photo=bool(self._said(detail) and self._said(detail)[-1].get("image_id")))
        return self.redraft(case_id, parse, read, change_state=False)

    @staticmethod
    def _said(detail: Mapping[str, Any]):
        return [m for m in detail["messages"] if m["sender"] == "customer"]

    @staticmethod
    def last_parse(case: Mapping[str, Any], intent: Optional[str] = None) -> Dict[str, Any]:
        """What NLU read last, as the case keeps it (its intent, or `intent` when an agent corrected it)."""
        nlu = (case.get("situation") or {}).get("nlu") or {}
        parse: Dict[str, Any] = {"intent": {"name": intent or nlu.get("intent") or case.get("intent")}}
        if nlu.get("ranking"):
            parse["intent_ranking"] = nlu["ranking"]
        return parse

    def draft(self, read: Reading) -> Handoff:
        return draft_for(read.situation, policy=self.policy(), acceptance=self.acceptance(), turn=read.turn)

    @staticmethod
    def stored(handoff: Handoff, parse: Mapping[str, Any]) -> Dict[str, Any]:
        return dict(handoff.situation_dict, nlu=nlu_reading(parse))
