"""One customer message read in its conversation: its act, the conversation state after it, the
situation the drafts answer (the case's concerns and mood, not the message's alone) and the turn
the composer needs (slot values and flags from the state, the shop's answer to a question, what
agents already sent). Pure: the case service stores what comes out."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from assist.cases.acts import evident_concerns, masked_facts, promise_time, read_customer
from assist.cases import points
from assist.cases.state import ConversationState, CustomerReading, after_customer
from assist.drafting import faq
from assist.drafting.checker import check
from assist.drafting.fact_reading import goods_named
from assist.drafting.situation import Situation, in_conversation
from assist.drafting.slot_values import PRODUCT_FAULTS
from assist.drafting.turn import Turn
from assist.shop.acts import ActCues, load_acts
from assist.shop.policy import Policy
from assist.text.normalize import normalize

# What the drafts may ask for once more when the customer said something else.
RE_ASKED = ("order_id", "waybill", "phone", "address", "photo", "product", "count", "detail", "choice")
# Channels a customer can send a photo through: kefu's web chat (upload) and WeChat. REST cannot.
PHOTO_CHANNELS = frozenset({"socketio", "wechat"})
# An order number as customers type it: 10–24 digits, not a mobile number.
ORDER_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?!1[3-9]\d{9}(?![0-9]))(\d{10,24})(?![0-9])")


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


def earlier_facts(earlier: Sequence[str]) -> Dict[str, Any]:
    """Facts in the customer's words before the case opened (what they told the bot): masked
    values and order numbers, the latest first."""
    found: Dict[str, Any] = {}
    for text in reversed(earlier):
        for fact, value in with_masks({}, text, None).items():
            found.setdefault(fact, value)
        number = ORDER_NUMBER.search(normalize(text))
        if number:
            found.setdefault("order_id", number.group(1))
        goods = goods_named(normalize(text))  # 这款 / 10罐山核桃 told to the bot: the goods are known
        if goods:
            found.setdefault("goods_said", goods)
    return found


def read_message(state: ConversationState, text: str, parse: Mapping[str, Any], message: Situation,
                 facts_before: Mapping[str, Any], earlier: Sequence[str], policy: Policy,
                 agent_texts: Sequence[str] = (), cues: Optional[ActCues] = None, channel: Optional[str] = None,
                 photo: bool = False) -> Reading:
    """`message`: the situation of this message alone (build_situation over it, with every fact
    known now); `earlier`: the customer's words before it; `agent_texts`: what agents sent;
    `channel`: the customer's (may they send a photo?); `photo`: this message is one."""
    cues = cues or load_acts()
    intent = (parse.get("intent") or {}).get("name")
    if intent == "order_status" and message.intent != intent and "product_code" in message.facts:
        # NLU's order question was a number no order matches, sent with no word of an order: the goods' id
        intent, parse = message.intent, {**parse, "intent": {**(parse.get("intent") or {}), "name": message.intent}}
    hit = faq.answer(text, policy, intent=intent) or faq.answer(text, policy)  # the intent's entries first
    evident = evident_concerns(message, cues, confidence=(parse.get("intent") or {}).get("confidence"))
    customer = read_customer(state, text, parse, evident, message.mood, facts_before, message.facts,
                             earlier, question=hit.id if hit else None, cues=cues, photo=photo)
    after = after_customer(state, customer)
    situation = in_conversation(message, drafting_concerns(state, after, customer), after.mood, after.mood_trend)
    answer = (hit.id, hit.text) if hit is not None and customer.question == hit.id else None
    problem = bool(message.problems) or message.mood != "calm" or bool(message.facts.get("days_waited"))
    return Reading(after, customer, situation, turn_for(after, customer, answer, agent_texts, cues, problem,
                                                        photos=channel in PHOTO_CHANNELS,
                                                        said=Said(text, tuple(message.problems), policy,
                                                                  tuple(earlier[-3:]))))


def drafting_concerns(before: ConversationState, after: ConversationState, customer: CustomerReading) -> Tuple[str, ...]:
    """The concerns the drafts speak to: on the first message all it raised; later, the case's
    primary one and those this message raises — an earlier side concern adds no sentence of its own."""
    if not before.customer_turns or after.primary is None:
        return after.concerns
    return (after.primary,) + tuple(c for c in customer.concerns if c != after.primary and c in after.concerns)


def read_again(state: ConversationState, message: Situation, agent_texts: Sequence[str] = (),
               cues: Optional[ActCues] = None, channel: Optional[str] = None) -> Reading:
    """The latest message read again after an agent corrected the concern: the case's first reply
    for the corrected concern, nothing new about the customer."""
    customer = CustomerReading(act="new_problem", concerns=state.concerns, mood=message.mood, facts=message.facts)
    situation = in_conversation(message, state.concerns, state.mood, state.mood_trend)
    return Reading(state, customer, situation, turn_for(state, customer, None, agent_texts, cues or load_acts(),
                                                        photos=channel in PHOTO_CHANNELS))


def read_latest_again(state: ConversationState, text: str, intent: Optional[str], message: Situation, policy: Policy,
                      agent_texts: Sequence[str] = (), refused: Sequence[str] = (),
                      cues: Optional[ActCues] = None, channel: Optional[str] = None, photo: bool = False) -> Reading:
    """The latest message, already in the state, read again for other drafts (an agent rejected
    the last ones): the same act, nothing new about the customer; `refused`: the variants agents
    rejected in this case, never offered again."""
    cues = cues or load_acts()
    hit = faq.answer(text, policy, intent=intent) or faq.answer(text, policy)
    question = hit.id if hit is not None and hit.id in state.open_questions else None
    customer = CustomerReading(
        act=state.last_act, concerns=state.concerns, mood=state.moods[-1] if state.moods else state.mood,
        facts=message.facts, answered=state.last_act == "answers", reluctant=state.reluctant, unclear=state.unclear,
        question=question, intent=intent, photo=photo)
    situation = in_conversation(message, state.concerns, state.mood, state.mood_trend)
    answer = (hit.id, hit.text) if question else None
    turn = turn_for(state, customer, answer, agent_texts, cues, photos=channel in PHOTO_CHANNELS,
                    said=Said(text, tuple(message.problems), policy))
    return Reading(state, customer, situation, replace(turn, refused=tuple(refused)))


@dataclass(frozen=True)
class Said:
    """The latest message as the drafts take it up: its words, the problems it names, the shop's policy."""
    text: str = ""
    problems: Tuple[str, ...] = ()
    policy: Optional[Policy] = None
    earlier: Tuple[str, ...] = ()      # the customer's messages just before it
    shop_said: str = ""                # the shop's last message


def turn_for(state: ConversationState, customer: CustomerReading, answer, agent_texts: Sequence[str],
             cues: ActCues, problem: bool = True, photos: bool = False, said: Said = Said()) -> Turn:
    """`problem`: the message reports something wrong (a problem word, a mood, days waited); an
    opening question without one is answered as a question, not met with an apology. `photos`: the
    customer's channel can send a photo (the drafts ask for one only then, and only until one came).
    `said`: the message's words, so the drafts take up its point (a choice, a packing wish, a topic)."""
    # The latest thing the shop did (checking only when nothing else was done).
    # ... and only what speaks to the case's concern now (催过快递 says nothing to a refund request).
    done = [key for key in state.done if key in cues.phrases["progress"]
            and (state.primary is None or state.primary in cues.did_for.get(key, (state.primary,)))]
    progress_key = next((key for key in reversed(done) if key != "checking"), done[-1] if done else None)
    received = "photo" if customer.photo else (state.asked.what if state.asked is not None and customer.answered else None)
    flags = set()
    if customer.photo:
        flags.add("photo_received")
    elif photos and not state.facts.get("photo"):
        flags.add("photo_askable")
    if state.stage == "done":
        flags.add("work_done")
    elif state.primary in points.TROUBLE or (state.primary and state.primary != "request_human" and (done or state.offered)):
        flags.add("work_open")  # the shop still owes the customer something (a product question answered owes nothing)
    if customer.reluctant:
        flags.add("reluctant")
    if customer.ordered:
        flags.add("ordered")
    if customer.act == "pushes" and state.pushes_unanswered >= 2:
        flags.add("repeat")  # asked again and again: the drafts say so and offer a step, not the same hold
    if done:
        flags.add("progressed")
    offered = [key for key in state.offered if state.primary is None or state.primary in cues.did_for.get(key, (state.primary,))]
    if offered:
        flags.add("planned")  # 那怎么搞 after 退回来给您补发: the drafts restate the plan, not "I'll check"
    pending = state.waiting_for if state.waiting_for in RE_ASKED and (photos or state.waiting_for != "photo") else None
    if pending and customer.act in ("informs", "pushes", "new_question", "greets"):
        flags.add("pending")  # we still need it: the drafts ask once more, briefly
    flags |= _point_flags(state, customer, replace(said, shop_said=said.shop_said or (agent_texts[-1] if agent_texts else "")))
    step = _step_for(state, customer, flags, points.wish(said.text))
    if step in QUICK_STEPS + ("packing", "gift", "coupon_request") and customer.act in ("new_question", "informs", "answers", "requests", "new_problem"):
        flags.add("quick")  # the goods, a price, where the order is: answered in chat within minutes
    values = {
        "fact_ack": cues.phrase("received", received),
        "progress": cues.phrase("progress", progress_key),
        "next_step": cues.phrase("next_step", step),
        "re_ask": cues.phrase("re_ask", pending),
        "request_step": cues.phrase("request_step", customer.request),
        "plan": cues.phrase("plan", offered[-1] if offered else None),
    }
    topic = points.topic_of(state, customer, said.text)
    if topic and not flags & {"pending", "planned"}:  # asking again, restating the plan: more to the point
        values["topic"] = topic
        flags.add("named")
    if said.policy is not None:  # the time frame of the step taken, not of the case's concern
        if "quick" in flags:
            values["follow_up"] = f"{said.policy.wait_minutes}分钟内"
        elif "delivery_side" in flags and state.primary == "complaint":
            values["follow_up"] = said.policy.follow_up_text("delivery_delay")
        elif step == "price_complaint":
            values["follow_up"] = said.policy.follow_up_text("price_haggle")
    promised = promise_time(state.promised)
    if promised and not any(f.severity == "block" for f in check(f"最晚{promised}给您答复。")):
        values["follow_up"] = promised  # the time an agent promised, not the policy's: the drafts never contradict it
    act, concern = drafting_act(state, customer, answer, problem)
    if act == "new_question" and concern is None and answer is None and flags & {"decided", "packing"}:
        act = "informs"  # 那我还是要大号的吧 / 出库前能帮我看看吗: take it up, do not "check and come back"
    elif act == "new_problem" and "packing" in flags and not said.problems:
        act = "informs"  # 包装加厚点 is a wish, not a complaint: no complaint script, no apology
    # Asking again for what we wait for is the safe reply; so is calming a customer who vents (扯淡).
    unsure = () if "pending" in flags or "planned" in flags or "angry" in (customer.mood, state.mood) or "abusive" in (
        customer.mood, state.mood) else customer.unclear
    # A message whose point is plain in its words (a choice, a packing wish, the return under way, a
    # request, a question the policy answers) is answered first; the short, safe reply comes second.
    if flags & {"decided", "packing"}:
        flags -= {"progressed", "planned"}  # the customer's choice or wish is the point, not what was done before
    plain = bool(flags & {"decided", "packing", "underway", "ordered"}) or bool(customer.request) or answer is not None or (
        step in ("gift", "coupon_request"))
    return Turn(act=act, values=values, flags=frozenset(flags), answer=answer, unsure=unsure,
                avoid=tuple(agent_texts), concern=concern, unsure_first=not plain)


# Steps whose answer an agent finds in chat within minutes (the goods, a price, the order's status).
QUICK_STEPS = ("product_inquiry", "price_haggle", "order_status")


def _point_flags(state: ConversationState, customer: CustomerReading, said: Said) -> set:
    """Flags for what this message's words make plain (assist/cases/points.py)."""
    flags = set()
    if said.problems:
        flags.add("told")  # this message itself names what is wrong
    if customer.act in ("informs", "new_question") and points.decided(said.text):
        flags.add("decided")
    underway = points.return_underway(state, (said.text,) + said.earlier)
    if points.packing(said.text) and customer.act not in ("pushes", "thanks", "closes", "greets"):
        flags.add("packing")
        if underway or points.returning(state, said.text):
            flags.add("underway")  # packing the goods to send back: the return is agreed, say how
    if underway:
        flags.add("underway")
    upset = said.problems or "calm" not in (state.mood, customer.mood) or not state.apologized or points.let_down(said.text)
    wish = flags & {"decided", "packing"} and not said.problems  # a choice or a wish is not met with an apology
    if state.primary in points.TROUBLE and state.stage != "done" and upset and not wish:
        # a problem still open: the drafts acknowledge its cause — once the shop has apologized, only
        # when the customer tells more of it or is still upset (not the same apology every turn)
        flags.add("trouble")
    faulty = set(said.problems) & PRODUCT_FAULTS
    if state.primary in ("complaint", "refund_return") and not faulty and "underway" not in flags and (
            points.delivery_case(state, said.problems, said.shop_said) and state.facts.get("status") != "delivered"):
        flags.add("delivery_side")  # the trouble is the parcel: the courier's step, not a specialist's
        flags.add("not_received")  # a return before it arrived is a refund, not the 7-day rule
    return flags


def _step_for(state: ConversationState, customer: CustomerReading, flags=frozenset(),
              wish: Optional[str] = None) -> Optional[str]:
    """Whose next step the drafts name. A price talk is one question, soon settled: a later message
    with no word of price (包装结实点哦, 套装里就这三样吧) is not met with "let me look for a discount".
    A wish about packing goes to the warehouse; a complaint about the parcel to the courier; a gift
    or one more coupon asked for in a talk about goods or price is what we ask for."""
    if "packing" in flags and "underway" not in flags:
        return "packing"
    if wish and state.primary in ("price_haggle", "product_inquiry") and customer.act in ("informs", "requests", "answers"):
        return wish
    if "delivery_side" in flags and state.primary == "complaint":
        return "delivery_delay"
    if state.primary == "complaint" and "price_haggle" in state.concerns and not flags & {"told", "packing"}:
        return "price_complaint"  # 刚买就降价了: the price difference checked, not an after-sales specialist
    if state.primary == "price_haggle" and (customer.act in ("informs", "new_question", "answers") or "ordered" in state.done) and not (
            customer.haggles or "price_haggle" in customer.concerns):
        return customer.intent if customer.intent in ("product_inquiry", "order_status") else None
    return state.primary


def drafting_act(state: ConversationState, customer: CustomerReading, answer, problem: bool = True) -> Tuple[str, Optional[str]]:
    """Which reply set answers the act (and the concern whose set does, when not the act's own). A
    question the policy has no answer for: about price, the haggling replies (they offer what the
    ladder allows); about the order or when it comes, where things stand (or the order number)."""
    if customer.act == "opens" and not problem:
        # 大概哪天能送到 / 这款有大号吗 as the first words: a question, nothing reported wrong yet
        if state.primary == "delivery_delay":
            return "new_question", "order_status"
        if state.primary == "complaint" and customer.question:
            return "new_question", "product_inquiry"
    act = customer.act
    if act == "new_problem" and customer.question and answer is None and not problem and state.customer_turns > 1:
        act = "new_question"  # 要是退货运单号填哪里: a question about another concern, answered, not its whole script
    if act == "new_question" and answer is None:
        topics = set(customer.concerns) | {customer.intent}
        if "price_haggle" in topics:
            # 能便宜点吗 gets the haggling replies; 券月底前能用吗 the agent checks and answers
            return act, ("price_haggle" if customer.haggles else None)
        if topics & {"delivery_delay", "order_status"}:
            if (state.primary == "delivery_delay" and state.done) or (
                    state.primary in points.TROUBLE and state.mood in ("angry", "abusive")):
                return "pushes", None  # an angry 三天了还送不到吗: calm them and chase, not "let me look it up"
            return act, "order_status"
    return act, None
