"""A case's conversation state: what the whole conversation says, kept with the case.

Every event updates it through a pure function — a customer message (read as a dialogue act,
assist/cases/acts.py), what an agent sent, what the bot said, an agent's correction — so the
same events replayed give the same state. Drafts are made against the state and the latest act,
never against the latest message alone.

- primary: the concern the case is about; it sticks until the customer raises another problem
  (or an agent corrects it); concerns: every concern raised, primary first.
- facts: everything known, from every turn (order number, carrier, the looked-up order, the shop's
  context, a photo sent); a masked value from a transcript ([订单x]) counts as given.
- mood over the case: the worst recent reading, with irritation without swear words (pushing,
  repeating, 到底, ？？) raising it and thanks calming it; mood_trend rising/steady/falling.
- asked: what the agent or the bot last asked the customer for, and whether it was answered.
- done / promised: what the shop did or is doing (checking, chased the courier, refund submitted)
  and the follow-up it promised; open_questions: what the customer asked and nobody answered yet.
- unclear: why the latest reading is unsure (then the top draft is a short, safe reply).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from assist.shop.intents import PERSON_CONCERNS


LEVEL = {"calm": 0, "anxious": 1, "angry": 2, "abusive": 3}
MOOD_AT = {v: k for k, v in LEVEL.items()}
# Acts after which a person has delivered something (the case is done once one of these is done).
RESOLUTIONS = ("refund_submitted", "return_accepted", "resent", "compensated", "coupon_offered")
CALMING_ACTS = ("thanks", "acknowledges", "closes")


@dataclass(frozen=True)
class Asked:
    what: str                  # order_id, waybill, phone, address, photo, product, more, detail, choice, confirm
    by: str                    # agent | bot
    answered: bool = False


@dataclass(frozen=True)
class ConversationState:
    primary: Optional[str] = None
    concerns: Tuple[str, ...] = ()
    corrected: bool = False                  # the primary concern was set by an agent
    facts: Mapping[str, Any] = field(default_factory=dict)
    mood: str = "calm"
    mood_trend: str = "steady"
    moods: Tuple[str, ...] = ()              # each customer message's own reading
    irritation: Tuple[str, ...] = ()         # signals of impatience seen so far, without repeats
    asked: Optional[Asked] = None
    asked_ever: Tuple[str, ...] = ()         # everything the shop has asked for in this case
    done: Tuple[str, ...] = ()
    offered: Tuple[str, ...] = ()            # what the shop proposed or planned but has not done (可以给您补发)
    promised: Optional[str] = None
    apologized: bool = False
    open_questions: Tuple[str, ...] = ()     # FAQ ids, or "question" when no FAQ entry fits
    last_act: str = "opens"
    reluctant: bool = False                  # the latest acceptance was grudging (好吧)
    customer_turns: int = 0
    agent_turns: int = 0
    pushes_unanswered: int = 0               # pushes (在吗, 到底什么时候) since the shop last said something
    unclear: Tuple[str, ...] = ()

    @property
    def stage(self) -> str:
        """open (no person has answered yet), in_progress, done (something was delivered)."""
        if any(d in RESOLUTIONS for d in self.done):
            return "done"
        return "in_progress" if self.agent_turns else "open"

    @property
    def waiting_for(self) -> Optional[str]:
        """The fact the shop asked for and the customer has not given yet."""
        return self.asked.what if self.asked is not None and not self.asked.answered else None

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["stage"] = self.stage
        return data

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "ConversationState":
        if not data:
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        asked = known.get("asked")
        known["asked"] = Asked(**asked) if isinstance(asked, Mapping) else None
        for key in ("concerns", "moods", "irritation", "asked_ever", "done", "offered", "open_questions", "unclear"):
            known[key] = tuple(known.get(key) or ())
        known["facts"] = dict(known.get("facts") or {})
        return cls(**known)


@dataclass(frozen=True)
class CustomerReading:
    """One customer message as the state needs it (made by assist/cases/acts.py)."""

    act: str
    concerns: Tuple[str, ...]          # person concerns this message raises, most likely first
    mood: str                          # this message's own mood
    facts: Mapping[str, Any]           # everything known after this message (gathered)
    irritation: Tuple[str, ...] = ()
    question: Optional[str] = None     # FAQ id or "question" when the customer asks something
    answered: bool = False             # it answers what the shop asked
    reluctant: bool = False
    unclear: Tuple[str, ...] = ()
    shift: Optional[str] = None        # the concern the customer now puts first
    intent: Optional[str] = None       # what NLU read in this message alone (a side question's topic)
    haggles: bool = False              # asks for a better price (便宜点), not about the rules of a coupon
    request: Optional[str] = None      # what a request asks us to do (refund, exchange, resend …)
    ordered: bool = False              # after a price talk or a goods question: 拍了 / 下单了
    photo: bool = False                # the message is a photo the customer sent (its text: [图片])
    worded: Tuple[str, ...] = ()       # raised concerns the shop's cue words name (they join the case's concerns)


def _mood(state: ConversationState, reading: CustomerReading) -> Tuple[str, str]:
    """The case's mood after this message, and its trend."""
    previous = LEVEL[state.mood]
    if "abusive" in state.moods or reading.mood == "abusive":
        level = LEVEL["abusive"]
    else:
        carried = previous - 1 if reading.act in CALMING_ACTS and reading.mood == "calm" else previous
        level = max(LEVEL[reading.mood], carried)
        pushes = sum(1 for s in state.irritation + reading.irritation if s == "pushes")
        if reading.irritation:
            level = max(level, LEVEL["anxious"])
        if reading.irritation and (pushes >= 2 or len(set(state.irritation + reading.irritation)) >= 3):
            level = max(level, LEVEL["angry"])
    level = max(0, min(level, LEVEL["abusive"]))
    trend = "rising" if level > previous else ("falling" if level < previous else "steady")
    if not state.customer_turns:
        trend = "steady"
    return MOOD_AT[level], trend


def after_customer(state: ConversationState, reading: CustomerReading) -> ConversationState:
    concerns, primary = list(state.concerns), state.primary
    raised = list(reading.concerns)  # person concerns, or the question a case opened on (acts.read_customer)
    if not state.customer_turns:
        concerns = list(dict.fromkeys(raised))
        primary = next((c for c in concerns if c != "request_human"), concerns[0] if concerns else None)
    elif reading.shift:
        concerns += [c for c in raised if c not in concerns]
        primary = reading.shift
    else:  # 明天送到说了三遍 in a complaint: the delay joins the case's concerns, the complaint stays first
        concerns += [c for c in reading.worded if c in raised and c in PERSON_CONCERNS and c not in concerns]
    if primary and primary in concerns:
        concerns.remove(primary)
        concerns.insert(0, primary)
    mood, trend = _mood(state, reading)
    asked = state.asked
    if asked is not None and not asked.answered and reading.answered:
        asked = replace(asked, answered=True)
    open_questions = state.open_questions
    if reading.question and reading.question not in open_questions:
        open_questions = open_questions + (reading.question,)
    return replace(
        state, primary=primary, concerns=tuple(concerns), facts=dict(reading.facts), mood=mood, mood_trend=trend,
        moods=state.moods + (reading.mood,), irritation=tuple(dict.fromkeys(state.irritation + reading.irritation)),
        asked=asked, open_questions=open_questions, last_act=reading.act, reluctant=reading.reluctant,
        customer_turns=state.customer_turns + 1, unclear=reading.unclear,
        pushes_unanswered=state.pushes_unanswered + 1 if reading.act == "pushes" else state.pushes_unanswered,
        corrected=state.corrected and reading.act != "new_problem",
        done=state.done + ("ordered",) if reading.ordered and "ordered" not in state.done else state.done,
    )


@dataclass(frozen=True)
class ShopReading:
    """What the agent's or the bot's message did (made by assist/cases/acts.py)."""

    asks: Optional[str] = None
    did: Tuple[str, ...] = ()
    offered: Tuple[str, ...] = ()      # deeds named as an offer or a plan, not done yet
    shows: Tuple[str, ...] = ()        # facts the agent's words show they have in hand (order_id, product)
    promise: Optional[str] = None
    apology: bool = False
    waits_only: bool = False           # only "please wait": the customer's question stays open


def after_shop(state: ConversationState, reading: ShopReading, by: str) -> ConversationState:
    """An agent's sent text (by="agent") or the bot's message (by="bot")."""
    asked = Asked(reading.asks, by) if reading.asks else (state.asked if reading.waits_only else None)
    facts = dict(state.facts)
    for fact in reading.shows:  # the agent has it in hand: nobody asks the customer for it again
        facts.setdefault(f"{fact}_seen", "客服已查到")
    asked_ever = tuple(dict.fromkeys(state.asked_ever + ((reading.asks,) if reading.asks else ())))
    for fact in ("order_id", "product"):
        if by == "agent" and state.agent_turns >= 1 and fact not in asked_ever and not facts.get(fact):
            # Two replies without asking for it: the agent sees it (the platform shows the order and the
            # goods beside the chat), so the drafts do not ask the customer for it either.
            facts.setdefault(f"{fact}_seen", "客服没问过，应已看到")
    done = tuple(dict.fromkeys(state.done + reading.did))
    return replace(
        state, asked=asked, asked_ever=asked_ever, done=done, facts=facts,
        offered=tuple(o for o in dict.fromkeys(state.offered + reading.offered) if o not in done),
        promised=reading.promise or state.promised, apologized=state.apologized or reading.apology,
        open_questions=state.open_questions if (reading.waits_only or by == "bot") else (),
        agent_turns=state.agent_turns + (by == "agent"), pushes_unanswered=0,
    )


def after_correction(state: ConversationState, concern: str) -> ConversationState:
    """An agent says what the case is about: it sticks until the customer raises another problem."""
    concerns = [concern] + [c for c in state.concerns if c != concern]
    return replace(state, primary=concern, concerns=tuple(concerns), corrected=True, unclear=())


def state_of(case: Mapping[str, Any]) -> ConversationState:
    """A stored case's conversation state; a case from before states were kept gets one from
    what it recorded (its concerns, facts and mood, and how many messages the customer sent)."""
    if case.get("conversation"):
        return ConversationState.from_dict(case["conversation"])
    situation = case.get("situation") or {}
    concerns = tuple(case.get("concerns") or situation.get("concerns") or ())
    said = sum(1 for m in case.get("messages") or () if m.get("sender") == "customer")
    return ConversationState(primary=concerns[0] if concerns else None, concerns=concerns,
                             facts=dict(situation.get("facts") or {}), mood=case.get("mood") or "calm",
                             customer_turns=max(1, said - 1) if said else 0)
