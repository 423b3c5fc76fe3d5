"""What a message does inside a case — its dialogue act — read against the conversation state.

A customer's message: opens the case, answers what the shop asked, asks a new question, raises a
new problem, pushes (催, 在吗, ？？, the same words again), acknowledges (好的; 好吧 grudgingly),
declines a proposal, thanks, closes, cancels the wait, or informs (tells more). The shop's own
message (the agent's sent text, the bot's): what it asked for, did or promised.
Cue words are data: assist/shop/acts.yml.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence, Tuple

from assist.cases.state import ConversationState, CustomerReading, ShopReading
from assist.drafting.situation import Situation
from assist.drafting.temperament import near_duplicate
from assist.shop.acts import ActCues, load_acts
from assist.shop.cues import Cues, load_cues
from assist.shop.intents import PERSON_CONCERNS
from assist.shop.labels import label
from assist.text.normalize import normalize
from assist.text.quantities import counts_something, waited_days

CANCEL = re.compile(r"(算了|不用了|不需要了|取消(人工|转人工)?|没事了|不麻烦了)")
CANCEL_REPLY = "好的，已经为您取消人工服务啦～ 如果还有需要，随时找我哦。"
# A transcript's masks ([订单x], [数字x]): a value the customer gave, in a form nobody can look up.
MASK = re.compile(r"\[([^\[\]\sx]{1,6})x\]")
MASK_FACT = {"订单": "order_id", "运单": "waybill", "单号": "waybill", "电话": "phone", "手机": "phone", "地址": "address",
             "姓名": "name", "链接": "product", "商品": "product", "图片": "photo"}
FACT_ANSWERS = ("order_id", "waybill", "phone", "address", "product")
SHORT = 8           # characters: a reply this short is an acknowledgement, not a statement
# NLU confidence under which the reading is called unsure, and from which it may move the case (the sparse
# classifier of config.yml: 90 % of its right answers on the dev set are above 0.55, its wrong ones below 0.55).
UNSURE_BELOW = 0.45
SURE = 0.7
SIDE_QUESTIONS = ("product_inquiry", "order_status")
QUESTION_CONCERNS = SIDE_QUESTIONS
CLAUSE = re.compile(r"[，,。.！!？?；;\s]+")
NUMBER = re.compile(r"[0-9０-９一二两三四五六七八九十几半]")


def is_cancel(text: str, intent: Optional[str]) -> bool:
    """A short 算了/不用了, or a plain deny, while waiting for a person."""
    norm = normalize(text)
    return (len(norm) <= 12 and bool(CANCEL.search(norm))) or (intent == "deny" and len(norm) <= 6)


REQUESTED = (("refund", r"退款|退钱|退了"), ("exchange", r"换"), ("resend", r"补发|重新发|再发|发一个|发个新"),
             ("cancel", r"取消"), ("return", r"退货"))


def requested(text: str) -> Optional[str]:
    """What a request asks us to do (acts.yml phrases.request_step keys)."""
    norm = normalize(text or "")
    return next((key for key, words in REQUESTED if re.search(words, norm)), None)


def declines_only(norm: str, declines) -> bool:
    """不行 / 不要了 decline; 不是第五条 corrects a detail (the rest of the message says what)."""
    rest = norm
    for hit in declines.find(norm):
        rest = rest.replace(hit.word, "")
    return bool(declines.matches(norm)) and len(re.sub(r"[\W了啊呀吧哦嘛的呢]", "", rest)) <= 1


def evident_concerns(message: Situation, cues: ActCues, said: Optional[Cues] = None,
                     confidence: Optional[float] = None) -> Tuple[str, ...]:
    """The message's concerns, each believed only with a sign of it in the words (acts.yml evidence):
    NLU's complaint for 有没实惠点的 is a question about the goods; its delivery_delay for 大概哪天能送到 a
    question about the order."""
    said = said or load_cues()
    implied = {p.concern for p in said.problems if p.id in message.problems}
    signs = {"problem": implied, "mood": message.mood != "calm", "threat": bool(message.threats),
             "waited": bool(message.facts.get("days_waited")), "price": bool(message.price_ask),
             # A plain statement backs NLU's reading only when NLU itself is not guessing; a wish
             # (希望发货前检查一下) is a request, not a grievance.
             "statement": not cues.customer["question"].matches(message.text) and (confidence is None or confidence >= 0.5)
             and not cues.customer["wishes"].matches(message.text)}
    out = []
    for concern in message.concerns:
        needs, instead = cues.evidence.get(concern, ((), concern))
        shown = any(concern in signs["problem"] if need == "problem" else
                    bool(said.intents[concern].matches(message.text)) if need == "words" else signs[need]
                    for need in needs)
        # Not believed: another concern whose words are there (有没实惠点的 → price), else acts.yml's `instead`.
        worded = next((c for c in (*cues.evidence, *SIDE_QUESTIONS) if c != concern and c in said.intents
                       and said.intents[c].matches(message.text)), None)
        kept = concern if shown or not needs else (worded or instead)
        if kept:
            out.append(kept)
    return tuple(dict.fromkeys(out))


def masked_facts(text: str, waiting_for: Optional[str]) -> Mapping[str, str]:
    """Facts the customer gave in masked form. A bare number mask answers what was asked for."""
    found = {}
    for match in MASK.finditer(text or ""):
        kind = match.group(1)
        fact = MASK_FACT.get(kind)
        if fact is None and kind in ("数字", "号码"):
            if counts_something(text, match.end()):
                continue  # [数字x]点 / [数字x]号 / [数字x]个: a time, a date or a count, not something to look up
            fact = waiting_for if waiting_for in ("order_id", "waybill", "phone") else "order_id"
        if fact and fact not in found:
            found[fact] = match.group(0)
    return found


def _answered(waiting_for: Optional[str], norm: str, before: Mapping[str, Any], after: Mapping[str, Any],
              cues: ActCues) -> bool:
    if waiting_for in FACT_ANSWERS:
        return bool(after.get(waiting_for)) and after.get(waiting_for) != before.get(waiting_for)
    if waiting_for == "photo":
        return "[图片]" in norm or bool(re.search(r"(照片|图片|图|视频).{0,4}(发|传|拍)|(发|传|拍)(了|好了).{0,4}(照片|图片|图)", norm))
    if waiting_for == "count":
        return bool(NUMBER.search(norm))
    if waiting_for in ("detail", "choice"):
        return len(norm) >= 2 and not cues.customer["pushes"].matches(norm)
    return False


def read_customer(state: ConversationState, text: str, parse: Mapping[str, Any], concerns: Sequence[str],
                  mood: str, facts_before: Mapping[str, Any], facts_after: Mapping[str, Any],
                  earlier: Sequence[str] = (), question: Optional[str] = None,
                  cues: Optional[ActCues] = None, photo: bool = False) -> CustomerReading:
    """The message's act and what it brings. `concerns` and `mood` are this message's own reading
    (build_situation over it alone); `question` the FAQ entry it asks about, if any."""
    cues = cues or load_acts()
    said = cues.customer
    norm = normalize(text or "")
    intent = (parse.get("intent") or {}).get("name")
    confidence = (parse.get("intent") or {}).get("confidence")
    sure = confidence is None or confidence >= SURE  # NLU sure of this message alone
    topics = load_cues().intents

    def worded(concern: str) -> bool:
        """The shop's cue words for the concern are in the message (券 → price, 尺寸 → the goods)."""
        return concern in topics and bool(topics[concern].matches(norm))

    # A case opened on a question (大概哪天能送到, 有大号吗) is about that question until a problem comes up.
    # ... or a calm case whose customer now asks, and NLU is sure, about the goods or the order (这件是羊毛的吗,
    # 这件是羊毛还是腈纶的): a price talk that moved on to the goods is about the goods now.
    about_question = (not state.customer_turns or state.primary not in PERSON_CONCERNS
                      or (state.mood == "calm" and sure and (intent in QUESTION_CONCERNS
                                                             or bool(said["question"].matches(norm))))
                      or (state.mood == "calm" and (any(worded(c) for c in QUESTION_CONCERNS)
                                                    or bool(said["wishes"].matches(norm)))))
    raised = tuple(c for c in concerns if c in PERSON_CONCERNS or (about_question and c in QUESTION_CONCERNS))
    threats = load_cues().threats
    leaving = "leave" in threats and bool(threats["leave"].matches(norm))
    if leaving:  # 今天不送我就退了: the parcel is the concern, the return only the threat
        raised = ("delivery_delay",) + tuple(c for c in raised if c != "delivery_delay")
    wish = bool(said["wishes"].matches(norm))
    if not sure:  # NLU guessing a question's topic: a concern the cue words name comes first (领了3张10块的 → price)
        raised = tuple(sorted(raised, key=lambda c: c in QUESTION_CONCERNS and not worded(c)))
    if not raised and not state.primary and mood in ("angry", "abusive"):
        # An outburst nothing else places (瞎扯淡!) is a complaint — about the parcel, when the customer
        # was talking about its delivery.
        about_parcel = any(topics[c].matches(normalize(e)) for e in earlier[-4:] if e for c in ("delivery_delay", "order_status"))
        raised = ("delivery_delay", "complaint") if about_parcel else ("complaint",)
    # Another problem: one not raised before, or an earlier one the customer now insists on.
    # Masks and numbers alone ([地址x], 123) say nothing about the problem, whatever NLU guessed.
    words = re.sub(r"[\s\d\W]", "", MASK.sub("", norm))
    shift = next((c for c in raised[:1] if c != state.primary and c != "request_human"
                  and (c not in state.concerns or sure or worded(c) or (wish and c in QUESTION_CONCERNS))
                  and len(words) >= 2), None)
    if leaving and shift == "refund_return":
        shift = None  # 再不送我就退了: still about the parcel; the return is the threat, not the request
    asks = bool(said["question"].matches(norm))
    repeat = any(near_duplicate(normalize(e), norm) for e in earlier[-4:] if e)
    waited = waited_days(norm) or 0
    irritation = tuple(s for s, on in (("pushes", said["pushes"].matches(norm)), ("repeats", repeat and len(norm) >= 3),
                                       ("？？", "??" in norm), ("waited", waited >= 3)) if on)
    waiting_for = state.waiting_for
    answered = _answered(waiting_for, norm, facts_before, facts_after, cues) or (photo and waiting_for == "photo")
    short = len(norm) <= SHORT
    reluctant = bool(said["reluctant"].matches(norm)) and short

    greets = bool(said["greets"].matches(norm)) and len(norm) <= 12
    ends = said["closes"].matches(norm) or said["cancels"].matches(norm) or said["thanks"].matches(norm) or (
        short and said["declines"].matches(norm))
    if not state.customer_turns:
        act = "opens"
    elif photo:
        act = "answers"  # a photo brings something to look at, asked for or not: the drafts say it came
    elif waiting_for == "more" and ends and not asks and not shift:
        act = "closes"  # 还有别的需要吗 — 不用了/没有了/谢谢: the customer is done
    elif said["cancels"].matches(norm) or (not state.agent_turns and not said["pushes"].matches(norm) and is_cancel(text, intent)):
        act = "cancels"  # but 不想再等了 (read as a short deny) wants the person sooner, not gone
    elif answered and (waiting_for in FACT_ANSWERS + ("photo",) or len(norm) > 12):
        act = "answers"
    elif said["requests"].matches(norm) and not asks:
        act = "requests"  # 帮我直接退了吧: say we do it (the agent approves only what they will do)
    elif greets and not shift:
        act = "greets" if state.agent_turns else "pushes"  # 您好 before anyone answered is a push
    elif said["pushes"].matches(norm) and (short or len(irritation) >= 2 or not asks):
        act = "pushes"
    elif asks and (question or len(norm) <= 12):
        act = "new_question"  # a question (退款多久到账？补发的不会这样吧？) is answered, not made the concern
    elif shift and shift not in state.concerns and (confidence is None or confidence >= 0.6 or len(norm) > SHORT):
        act = "new_problem"
    elif said["closes"].matches(norm) and not asks:
        act = "closes"
    elif said["thanks"].matches(norm) and len(norm) <= 12 and not asks:
        act = "thanks"
    elif irritation and (short or said["pushes"].matches(norm)):
        act = "pushes"
    elif answered:
        act = "answers"
    elif asks:
        act = "new_question"
    elif short and declines_only(norm, said["declines"]) and not reluctant and not raised:
        act = "declines"
    elif short and (said["acknowledges"].matches(norm) or reluctant):
        act = "acknowledges"
    elif intent in SIDE_QUESTIONS and sure and not raised and not said["informs"].matches(norm):
        act = "new_question"  # 这款有几种颜色: a question about the goods or the order, said without a question mark
    else:
        act = "informs"
    ordered = bool(said["ordered"].matches(norm)) and state.primary in ("price_haggle", "product_inquiry")
    if ordered and act in ("acknowledges", "informs", "answers"):
        act = "informs"  # 拍了: the price talk is over; the drafts thank and say what happens next
    if act == "pushes" and "pushes" not in irritation:
        irritation = ("pushes",) + irritation

    unclear = []
    # NLU unsure, and the shop's cue words did not name the problem either (催单 is plain without NLU).
    by_cues = bool(raised) and intent not in raised
    if isinstance(confidence, (int, float)) and confidence < UNSURE_BELOW and not by_cues and act in (
            "opens", "informs", "new_question", "new_problem"):
        unclear.append(f"没读准这句话（意图把握{confidence:.0%}）")
    ranking = list(parse.get("intent_ranking") or ())
    if len(ranking) >= 2 and act in ("opens", "new_problem", "informs"):
        first, second = ranking[0], ranking[1]
        both = first.get("name") in PERSON_CONCERNS and second.get("name") in PERSON_CONCERNS
        if both and (second.get("confidence") or 0) >= 0.3 and (first.get("confidence") or 0) - (second.get("confidence") or 0) < 0.1:
            unclear.append(f"拿不准是{label('concerns', first['name'])}还是{label('concerns', second['name'])}")
    if act == "informs" and short and not raised and not ordered and dict(facts_after) == dict(facts_before):
        unclear.append("这句话和当前问题的关系不清楚")
    return CustomerReading(
        act=act, concerns=raised, mood=mood, facts=facts_after, irritation=irritation,
        question=(question or "question") if (asks or act == "new_question") and act in ("new_question", "informs", "opens", "new_problem") else None,
        answered=answered or (waiting_for == "confirm" and act in ("acknowledges", "declines"))
        or (waiting_for == "more" and act == "closes"),
        reluctant=reluctant, unclear=tuple(unclear), intent=intent, haggles=bool(said["haggles"].matches(norm)),
        request=requested(norm) if act == "requests" else None, ordered=ordered, photo=photo,
        # The customer puts an earlier or a new concern first: it becomes the case's primary one.
        # A question counts only when NLU is sure of it (有没有活动价 in a delivery case: now about price).
        # NLU unsure of a question: the cue words move the case only to the goods, the order or the price.
        shift=shift if act in ("new_problem", "informs", "answers", "requests") or (act == "new_question" and (
            sure or (worded(shift or "") and shift in QUESTION_CONCERNS + ("price_haggle",)))) else None,
        worded=tuple(c for c in raised if worded(c)),
    )


def read_shop(text: str, cues: Optional[ActCues] = None) -> ShopReading:
    """What the agent's (or the bot's) message asked for, did and promised."""
    cues = cues or load_acts()
    norm = normalize(text or "")
    asked = [fact for fact, cue in cues.asks if cue.matches(norm)]
    asks = next((f for f in asked if f != "confirm"), asked[0] if asked else None)
    did, offered = [], []
    for clause in CLAUSE.split(norm):
        for name, cue in cues.did.items():
            if cue.matches(clause):
                # 可以给您补发 / 收到后给您补发: a proposal or a plan; checking is under way as soon as it is said
                plan = name != "checking" and cues.conditional.matches(clause)
                (offered if plan else did).append(name)
    did = tuple(dict.fromkeys(did))
    offered = tuple(o for o in dict.fromkeys(offered) if o not in did)
    shows = tuple(fact for fact, cue in cues.shows.items() if cue.matches(norm))
    promise = next((hit.word for hit in cues.promises.find(norm)), None)
    waits_only = bool(cues.waits.matches(norm)) and set(did) <= {"checking"} and asks in (None, "confirm") and len(norm) <= 30
    return ShopReading(asks=asks, did=did, offered=offered, shows=shows, promise=promise, apology=bool(re.search(r"抱歉|对不起|不好意思|致歉", norm)),
                       waits_only=waits_only)


PROMISE_TIME = re.compile(r"[0-9一二两三四五六七八九十]+\s*个?\s*(?:小时|分钟|工作日|天)(?:之内|以内|内)"
                          r"|(?:今天|今晚|明天|后天)(?:上午|中午|下午|晚上)?(?:[0-9一二两三四五六七八九十]+点(?:半)?(?:之前|以前|前)?)?")


def promise_time(promise: Optional[str]) -> Optional[str]:
    """The time in what the shop promised (今天下午5点前, 2小时内): the drafts keep to it."""
    match = PROMISE_TIME.search(promise or "")
    return match.group(0).replace(" ", "") if match else None


def shop_words(state: ConversationState) -> Tuple[str, ...]:
    """What the state says the shop did, in the words agents read (the panel, the drafts)."""
    return tuple(label("done", d) for d in state.done)
