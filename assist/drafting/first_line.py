"""What the first-line bot reads in a message while no person has the conversation.

The bot answers what the shop's rules answer and hands over what needs someone to act. These
readings decide between the two, from the shop's files (the FAQ in policy.yml, the cue words in
acts.yml), so the Rasa actions stay thin and the case service decides the same way:

- `rules_question`: a question about the shop's rules (能退货吗, 运费谁出, 退款多久到账) gets the
  FAQ answer and nothing else; a request to act on an order (我要退这单, 退款还没到) is not one.
- `general_question`: the FAQ answer to a general question (一般几天能到, 发成都要几天), which is
  not about the customer's own order and is answered even when an order is remembered.
- `order_number`: the order number in a message; with `asked`, also the shorter numbers and the
  masked forms a customer answers with when we asked for it.
- `small_talk`: a closing, thanks, an acknowledgement or a parcel that arrived, said in words the
  classifier was unsure of (没事了, 好的那我备注一下, 签收了).
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence, Tuple

from assist.drafting import faq
from assist.drafting.faq import FaqAnswer
from assist.shop.acts import ActCues, load_acts
from assist.shop.cues import Cues, load_cues
from assist.shop.policy import Policy
from assist.text.normalize import normalize
from assist.text.quantities import counts_something

# An order number as shops issue them: 10–24 digits, not a mobile number (the NLU regex's rule).
ORDER_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?!1[3-9]\d{9}(?![0-9]))(\d{10,24})(?![0-9])")
# Said in answer to 订单号是多少: a shorter number counts too, and a number a transcript masked.
ANSWERED_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?!1[3-9]\d{9}(?![0-9]))(\d{6,24})(?![0-9])")
MASKED_NUMBER = re.compile(r"\[(订单|单号|订单号|数字|号码)x\]")
SMALL_TALK = ("closes", "cancels", "thanks", "arrived", "acknowledges", "greets")
# A bare "no" with nothing after it (不用了, 不需要了) ends the chat when no person has it; in a case
# the same words decline an offer (acts.yml declines), so they are not added to the closings there.
NO_MORE = re.compile(r"^(不用|不需要|不要)(了|啦|啊|呀)?[,.!~，。！～ ]*(谢谢|谢啦|多谢)?[,.!~，。！～ ]*$")


def order_number(text: str, entities: Sequence[Mapping[str, Any]] = (), asked: bool = False) -> Optional[str]:
    """The order number the message gives: the NLU entity, else digits in the words; `asked`:
    we asked for it, so a 6–9 digit number or a masked [订单x] is the answer too."""
    for entity in entities or ():
        if entity.get("entity") == "order_id" and entity.get("value"):
            return str(entity["value"])
    norm = normalize(text or "")
    found = ORDER_NUMBER.search(norm) or (ANSWERED_NUMBER.search(norm) if asked else None)
    if found:
        return found.group(1)
    masked = next((m for m in MASKED_NUMBER.finditer(text or "") if not counts_something(text, m.end())), None) if asked else None
    return masked.group(0) if masked else None


def masked_number(text: str) -> Optional[str]:
    """An order number a transcript or an order card masked ([订单x]): given, though nobody can read it."""
    found = next((m for m in MASKED_NUMBER.finditer(text or "") if not counts_something(text, m.end())), None)
    return found.group(0) if found else None


def is_question(text: str, acts: Optional[ActCues] = None) -> bool:
    """The message asks something (吗, 什么时候, ?): a question we cannot place is offered a colleague,
    never a "didn't understand" menu."""
    return bool((acts or load_acts()).customer["question"].matches(normalize(text or "")))


def on_order(text: str, acts: Optional[ActCues] = None) -> bool:
    """The message is about the customer's own order or asks us to act on it (我要退这单, 退款还没到)."""
    acts = acts or load_acts()
    norm = normalize(text or "")
    return bool(acts.customer["on_order"].matches(norm)) or bool(ORDER_NUMBER.search(norm))


def rules_question(text: str, intent: Optional[str], policy: Policy, acts: Optional[ActCues] = None,
                   cues: Optional[Cues] = None) -> Optional[FaqAnswer]:
    """The shop's answer when the message asks about its rules and nothing else: no request to act
    on an order, no fault reported (坏了, 发错) and no complaint words. The mood is the caller's
    business (needs_person: an angry customer gets a person whatever they ask)."""
    hit = faq.answer(text, policy, intent=intent) or faq.answer(text, policy)
    if hit is None or on_order(text, acts):
        return None
    cues = cues or load_cues()
    norm = normalize(text or "")
    if any(problem.words.matches(norm) for problem in cues.problems) or cues.intents["complaint"].matches(norm):
        return None
    return hit


def general_question(text: str, policy: Policy, acts: Optional[ActCues] = None) -> Optional[FaqAnswer]:
    """The FAQ answer to an order-like question asked in general (一般几天能到, 发什么快递), not about
    the customer's own order: answered from the policy, even right after an order was looked up."""
    if on_order(text, acts):
        return None
    return faq.answer(text, policy, intent="order_status") or faq.answer(text, policy)


def knows_no_number(text: str, acts: Optional[ActCues] = None) -> bool:
    """不知道订单号 / 找不到: the customer cannot give what we asked for."""
    acts = acts or load_acts()
    return bool(acts.customer["no_number"].matches(normalize(text or "")))


def small_talk(text: str, acts: Optional[ActCues] = None) -> Optional[str]:
    """closes, cancels, thanks, arrived, acknowledges or greets, when the message is only that
    (short, no question); None otherwise."""
    acts = acts or load_acts()
    norm = normalize(text or "")
    said = acts.customer
    if not norm or said["question"].matches(norm) or len(norm) > 24:
        return None
    if NO_MORE.match(norm):
        return "cancels"
    for kind in SMALL_TALK:
        if said[kind].matches(norm):
            if kind == "greets" and len(norm) > 8:
                continue  # 你好 glued to something else says that something else
            return kind
    return None


def answer_to_order_ask(text: str, intent: Optional[str], entities: Sequence[Mapping[str, Any]], policy: Policy,
                        acts: Optional[ActCues] = None) -> Tuple[str, Optional[str]]:
    """What a message says to our 订单号是多少? — ("number", the number, whatever NLU thought of the
    words); ("again", why) when we ask once more: "where" (不知道订单号), "wait" (好的 / 在吗: still
    looking), "unclear" (an order question without one); or ("moved_on", None): the customer said
    something else (goodbye, a complaint, a question the FAQ answers …), which the bot's rules
    answer once the order form lets go."""
    number = order_number(text, entities, asked=True)
    if number:
        return "number", number
    if knows_no_number(text, acts):
        return "again", "where"
    talk = small_talk(text, acts)
    if talk in ("closes", "cancels", "thanks", "arrived"):
        return "moved_on", None
    if intent in ("greet", "affirm") or talk in ("acknowledges", "greets"):
        return "again", "wait"
    if intent in ("order_status", "nlu_fallback") and general_question(text, policy, acts) is None:
        return "again", "unclear"
    return "moved_on", None
