"""The case service: the only writer of case state.

Every way a case's life moves goes through here — a customer's message (from the handoff action
inside Rasa's turn, or from the console's event follower after it), an agent's decision, a
rejection (fresh drafts), a correction, a resolution, a claim, a transfer to a colleague or a
supervisor's reassignment, the wait timer — so a case looks the same whoever opened it: the order
is looked up, the shop's chat context is read, the drafts are ranked by agents' acceptance and
the model and template versions are recorded.

`on_customer_message` is idempotent per message id: the action and the follower both call it
for the same message, and the second call changes nothing.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Optional

from assist.cases.acts import CANCEL_REPLY, read_shop
from assist.cases.batches import CaseDrafts
from assist.cases.conversation import earlier_facts, read_message, with_masks
from assist.cases.facts import PHOTO_FACT, gather
from assist.cases.messages import CustomerMessage, Outcome, earlier_keys_of, holding_key
from assist.cases.state import ConversationState, after_correction, after_shop, state_of
from assist.drafting.acceptance import Acceptance
from assist.drafting.acceptance_cache import acceptance_cache
from assist.drafting.first_line import rules_question
from assist.drafting.handoff import needs_person, read_situation
from assist.drafting.holding import handed_back_message, holding_message, wait_update_message
from assist.drafting.shop_checks import load_checked_policy
from assist.drafting.situation import build_situation
from assist.logs import log_event
from assist.shop.policy import Policy
from assist.shop.versions import current_versions
from assist.store import ABANDONED, CANCELLED, OPEN, RESOLVED, Claimed, SuggestionStore
from assist.store.db import now as store_now

logger = logging.getLogger(__name__)


class CaseService:
    def __init__(self, store: SuggestionStore, find_order: Optional[Callable[[str], Any]] = None,
                 policy: Optional[Callable[[], Policy]] = None,
                 acceptance: Optional[Callable[[], Optional[Acceptance]]] = None):
        self.store = store
        self.find_order = find_order
        self._policy = policy or load_checked_policy
        if acceptance is None:
            cache = acceptance_cache(lambda: store)  # agents' record, reloaded every few minutes
            acceptance = (lambda: cache.get()) if cache is not None else (lambda: None)
        self._acceptance = acceptance
        self.drafts = CaseDrafts(store, find_order, self._policy, acceptance)

    # ---- the customer -----------------------------------------------------------------------
    def on_customer_message(self, message: CustomerMessage, hand_over: bool = False,
                            hold_through_outbox: bool = False) -> Outcome:
        """Join the open case, cancel it, or open one when the message needs a person (always,
        with `hand_over`: Rasa's rules decided). `hold_through_outbox`: the holding message goes
        out through the outbox (the follower's way); else the caller says it (the action's way)."""
        if not message.text.strip():
            return Outcome("none")
        message = self._own_photo(message)
        case = self.store.cases.open_case_for(message.conversation_id)
        if case is None and message.stranded is not None:
            # An earlier message was handed over and nobody took it: the case opens there, and this
            # one joins it after the messages in between (_catch_up).
            self.on_customer_message(message.stranded, hand_over=True)
            case = self.store.cases.open_case_for(message.conversation_id)
        if case is not None:
            if message.key in (earlier_keys_of(case) or ()):
                # Said before the message that opened the case (its opener's tracker held it): the
                # follower, behind, may read it only now, after the action opened the case. Joining it
                # would put it after the opening message, out of the customer's order.
                return Outcome("earlier", case["id"])
            return self._join(case, message)
        earlier, situation, person = self._first_reading(message)
        if not (hand_over or person):
            return Outcome("none")
        read = read_message(ConversationState(), message.text, message.parse, situation, {}, earlier, self._policy(),
                            channel=message.channel, photo=bool(message.image_id))
        handoff = self.drafts.draft(read)
        opened = self.store.cases.open_case(
            message.conversation_id, self.drafts.stored(handoff, message.parse), handoff.drafts, message.text,
            channel=message.channel, source_key=message.key, created_by="follower" if hold_through_outbox else "action",
            versions=current_versions(), conversation=read.state.to_dict(), image_id=message.image_id,
            earlier_keys=None if message.earlier is None else message.earlier_keys, join_open=False,
        )
        if opened.get("open"):
            # Someone (the follower, the other console) opened it since we looked: join it as a follow-up,
            # after the messages in between and never with one said before its opening.
            return self.on_customer_message(message, hand_over, hold_through_outbox)
        if opened.get("duplicate"):
            return Outcome("duplicate", opened["id"], opened["batch"])
        if hold_through_outbox and not opened["joined"]:
            self.store.outbox.queue_message(opened["id"], handoff.holding_text, kind="holding", once_key=holding_key(message))
        log_event(logger, "message_joined" if opened["joined"] else "case_opened", opened["id"], message.conversation_id,
                  by="follower" if hold_through_outbox else "action", concern=read.state.primary, batch=opened["batch"])
        return Outcome("joined" if opened["joined"] else "opened", opened["id"], opened["batch"], handoff.holding_text)

    def needs_person(self, message: CustomerMessage) -> bool:
        """Whether a message with no case open needs a person, decided as on_customer_message decides
        it: the bot's actions ask before answering, so the bot and the event follower agree. A customer
        whose earlier message was handed over and never taken (`stranded`) is waiting for a person."""
        return message.stranded is not None or self._first_reading(message)[2]

    def _first_reading(self, message: CustomerMessage):
        """(earlier words, situation, needs a person) of a message that no case holds yet."""
        earlier = message.earlier_words()
        said_before = earlier_facts(earlier)  # an order number given to the bot before the case counts too
        facts = with_masks(gather({}, message.parse.get("entities") or (), {**said_before, **message.remembered},
                                  self.store.customers.chat_context(message.conversation_id), self.find_order),
                           message.text, None)
        if message.image_id:
            facts["photo"] = PHOTO_FACT
        situation = read_situation(message.text, message.intent, message.parse.get("intent_ranking"),
                                   message.parse.get("entities"), earlier, facts)
        rules = rules_question(message.text, message.intent, self._policy())  # 运费谁出? the bot answers it
        # A photo needs a person's eyes: the bot cannot look at it.
        return earlier, situation, needs_person(message.intent, situation, rules) or bool(message.image_id)

    def _own_photo(self, message: CustomerMessage) -> CustomerMessage:
        """The message with its photo only if the photo was uploaded in this very conversation: metadata
        comes from the customer's client, so another conversation's id (or a made-up one) is dropped."""
        if message.image_id and self.store.images.get(message.image_id, message.conversation_id) is None:
            logger.warning("a message in %s named a photo that is not its own: ignored", message.conversation_id)
            return replace(message, image_id=None)
        return message

    def _join(self, case: Dict[str, Any], message: CustomerMessage) -> Outcome:
        self._catch_up(case, message)
        if not self.store.cases.add_message(case["id"], "customer", message.text, source_key=message.key,
                                            image_id=message.image_id):
            return Outcome("duplicate", case["id"], case["batch"])
        read = self.drafts.read(case["id"], message.parse)
        if read.customer.act == "cancels":
            self.store.cases.close_case(case["id"], state=CANCELLED, notify_text=CANCEL_REPLY)
            self.store.cases.update_conversation(case["id"], lambda current: read.state.to_dict())
            log_event(logger, "case_cancelled", case["id"], message.conversation_id, by="customer")
            return Outcome("cancelled", case["id"], reply_text=CANCEL_REPLY)
        batch = self.drafts.redraft(case["id"], message.parse, read)
        log_event(logger, "message_joined", case["id"], message.conversation_id, act=read.customer.act, batch=batch)
        return Outcome("joined", case["id"], batch)

    def _catch_up(self, case: Dict[str, Any], message: CustomerMessage) -> None:
        """The action joins a follow-up while the follower is still behind on earlier ones (the bot
        answered them before the case paused it): those after the opening message join first, in order."""
        keys = message.earlier_keys
        opening = self.store.cases.opening_key(case["id"]) if keys else None
        if opening not in keys:
            return
        for key, text, image_id in list(message.earlier)[keys.index(opening) + 1:]:
            if image_id and self.store.images.get(image_id, message.conversation_id) is None:
                image_id = None  # metadata comes from the client: only this conversation's own photo
            if text.strip():
                self.store.cases.add_message(case["id"], "customer", text, source_key=key, image_id=image_id)

    def holding_text(self, case_id: str) -> str:
        """The holding message for a case that is already open: the follower says it when the
        action opened the case but its own holding message never reached the customer."""
        case = self.store.cases.get_case(case_id)
        said = [m["text"] for m in case["messages"] if m["sender"] == "customer"]
        situation = build_situation(said[0] if said else "", intent=(case.get("concerns") or [None])[0])
        return holding_message(situation, self._policy())

    # ---- the agents -------------------------------------------------------------------------
    def may_answer(self, case_id: str, agent: str) -> None:
        """A case another agent has claimed is theirs to answer until someone takes it over."""
        holder = self.store.claims.claimed_by(case_id)
        if holder and holder != agent:
            raise Claimed(f"{holder} is answering this case; take it over first", holder)

    def decide(self, case_id: str, agent: str, action: str, **decision: Any) -> Dict[str, Any]:
        """approve / edit / reject the current drafts (assist/store/decisions.py), once per batch;
        what the agent sent joins the conversation state (what they asked, did, promised)."""
        self.may_answer(case_id, agent)
        made = self.store.decisions.decide(case_id, agent, action, **decision)
        log_event(logger, "decision", case_id, self.store.cases.conversation_of(case_id), kind=made["action"],
                  agent=made["agent"], batch=made["batch"], resolve=made["resolve"] or None)
        if made.get("final_text"):
            sent = read_shop(made["final_text"])
            self.store.cases.update_conversation(
                case_id, lambda current: after_shop(ConversationState.from_dict(current), sent, "agent").to_dict())
        return made

    def reject(self, case_id: str, agent: str, reason: str, batch: Optional[int] = None,
               idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """The agent refuses the current drafts (recorded with the reason) and the case gets a
        fresh batch without any variant rejected in it — or an empty batch when there is nothing
        else to offer. `fresh_drafts`: how many the new batch has (None: a retried rejection)."""
        made = self.decide(case_id, agent, "reject", reason=reason, batch=batch, idempotency_key=idempotency_key)
        case = self.store.cases.get_case(case_id)
        if case["state"] != OPEN or case["batch"] != made["batch"]:
            return {"decision": made, "batch": case["batch"], "fresh_drafts": None}
        fresh = self.drafts.after_reject(case_id)
        return {"decision": made, "batch": fresh, "fresh_drafts": len(self.store.cases.get_case(case_id)["drafts"])}

    def resolve(self, case_id: str, agent: str) -> Dict[str, Any]:
        self.may_answer(case_id, agent)
        closed = self.store.cases.close_case(case_id, RESOLVED)
        log_event(logger, "case_resolved", case_id, closed["conversation_id"], agent=agent)
        return closed

    def correct(self, case_id: str, agent: str, concern: str) -> Dict[str, Any]:
        """"This is a refund, not a complaint": recorded for the bot builders, fresh drafts made
        with the corrected concern (and the acceptance record, versions and NLU reading as always).
        Like a decision, it is for the agent holding the case (someone else's case is 409 `claimed`)."""
        self.may_answer(case_id, agent)
        correction = self.store.learning.correct_concern(case_id, agent, concern)
        case = self.store.cases.get_case(case_id)
        log_event(logger, "concern_corrected", case_id, case["conversation_id"], agent=agent, concern=concern)
        if case["state"] == OPEN:
            parse = self.drafts.last_parse(case, intent=concern)
            corrected = ConversationState.from_dict(self.store.cases.update_conversation(
                case_id, lambda current: after_correction(state_of({**case, "conversation": current}), concern).to_dict()))
            self.drafts.redraft(case_id, parse, self.drafts.read(case_id, parse, corrected), change_state=False)
        return correction

    def claim(self, case_id: str, agent: str, takeover: bool = False) -> Dict[str, Any]:
        return self.store.claims.claim_case(case_id, agent, takeover=takeover)

    def release(self, case_id: str, agent: str) -> bool:
        return self.store.claims.release_claim(case_id, agent)

    def transfer(self, case_id: str, agent: str, to: str, note: str) -> Dict[str, Any]:
        """The agent answering a case (or anyone, for a case nobody holds) hands it to a named
        colleague with a note the receiver reads; someone else's case is 409 `claimed`."""
        if to == agent:
            raise ValueError("a case is transferred to someone else")
        return self.store.claims.hand_over(case_id, agent, to, note, "transfer", holders=(agent, None))

    def reassign(self, case_id: str, supervisor: str, to: Optional[str], note: Optional[str] = None) -> Dict[str, Any]:
        """A supervisor moves a case to any agent, or back to the shared queue (`to` None)."""
        return self.store.claims.hand_over(case_id, supervisor, to, note, "reassign")

    # ---- the clock --------------------------------------------------------------------------
    def send_wait_updates(self, wait_seconds: float, max_updates: int, now: Optional[datetime] = None) -> int:
        """An honest update to customers waiting longer than the limit for a person's answer.
        `now` is aware; the message speaks of the shop's hours in the shop's timezone."""
        now = now or store_now()
        sent = 0
        for case in self.store.queue.open_queue(limit=100_000):
            # waiting_since is None once a person answered the customer's latest words.
            if case["wait_updates"] >= max_updates or not case["waiting_since"]:
                continue
            if now - datetime.fromisoformat(case["waiting_since"]) < timedelta(seconds=wait_seconds * (case["wait_updates"] + 1)):
                continue
            situation = build_situation(case["last_customer_text"] or "", intent=(case["concerns"] or [None])[0])
            self.store.outbox.queue_message(case["id"], wait_update_message(situation, self._policy(), now=now), kind="update")
            log_event(logger, "wait_update", case["id"], case["conversation_id"], number=case["wait_updates"] + 1)
            sent += 1
        return sent

    def hand_back_unanswered(self, after_seconds: float, now: Optional[datetime] = None) -> int:
        """Cases whose customer nobody answered for `after_seconds` (0: never) go back to the bot:
        the customer is told, the bot resumes, the case is closed as abandoned (still searchable)."""
        if not after_seconds:
            return 0
        now = now or store_now()
        closed = 0
        for case in self.store.queue.open_queue(limit=100_000):
            if not case["waiting_since"] or now - datetime.fromisoformat(case["waiting_since"]) < timedelta(seconds=after_seconds):
                continue
            situation = build_situation(case["last_customer_text"] or "", intent=(case["concerns"] or [None])[0])
            try:
                self.store.cases.close_case(case["id"], ABANDONED, notify_text=handed_back_message(situation, self._policy(), now))
            except Exception as error:  # noqa: BLE001 - closed meanwhile (an agent answered, the customer cancelled)
                logger.info("case %s was not handed back: %s", case["id"], error)
                continue
            log_event(logger, "case_abandoned", case["id"], case["conversation_id"], waited_seconds=int(after_seconds))
            closed += 1
        return closed
