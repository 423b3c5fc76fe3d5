"""What the customer's latest message is about, as the drafts take it up: the topic to name when
we can only say "I'll check" (关于退换，…), a decision the customer made (那我还是要大号的吧), a
packing or pre-shipment wish (出库前帮我看看), a return already on its way back, and whether
the case's trouble is the delivery (then the next step is the courier's, not an after-sales
specialist's). Pure; the words are general shopper's phrasing, never a dialogue's."""
from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence

from assist.cases.state import ConversationState, CustomerReading
from assist.drafting.fact_reading import goods_named
from assist.shop.labels import label
from assist.text.normalize import normalize

# 那我还是要大号的吧 / 那就给我白色的吧 / 我就等两天吧 / 那我先退回去吧: the customer chose; the drafts
# say it is noted, not "I'll check". A question (吗, ？) is not a decision.
DECIDED = re.compile(r"(那|那我|我|那就)(还是|就|先){0,2}(要|选|拿|买|拍|寄|退|换|用|等|留)[^吗么呢?？]{0,14}(吧|了|啊)[!！。~～啊哈]*$"
                     r"|^(那就|就要|还是要|就选|就拿|就这个|就这款)[^吗么呢?？]{0,12}$")
# 出库前帮我看看 / 包装结实点 / 装一起寄回: a wish about packing or checking the goods before they go.
PACKING = re.compile(r"发货前|发之前|出库前|打包|包装|包好|装箱|装一起|放一起|检查好再发|挑一下|挑个好")
# 已经寄回去了 / 退货寄出了 / 你们签收了: the goods are on their way back (or back): no new return to offer.
SENT_BACK = re.compile(r"(已经|已|都)(寄回|退回|寄出|发回)|寄回去了|退回去了|寄回了|退回了|(你们|仓库|商家)(已经|都)?(签收|收到)"
                       r"|退货.{0,4}(签收|收到)")
# 都给你装在一起寄回 / 退回去的: the goods are going back to the shop (packing them is packing a return).
RETURNING = re.compile(r"退回|寄回|发回|退货|寄给你|寄给您|给你装|给您装|退的")
# The shop's own words are about the parcel (快递显示在转运 …): the case's trouble is the delivery.
PARCEL_TALK = re.compile(r"快递|物流|派送|配送|站点|转运|运单|包裹|送达|到达|快递员|派件")
# 送个小样给我呗 / 麻烦再发我一张券: a concrete thing asked for in a price talk; the drafts say we ask for it.
WISHES = (("gift", re.compile(r"(送|赠)(点|个|些|几|一)|赠品|小礼物|送的[吗么呢]")),
          ("coupon_request", re.compile(r"(再|多)(给|送|发|领)(我)?(一|两|几)?张|申请.{0,6}券|(给|送|发)(我|个|张).{0,4}券")))
# 唉，本来以为质量很好 / 太失望了: disappointment said calmly, still owed an acknowledgement.
LET_DOWN = re.compile(r"本来以为|没想到|失望|后悔|无语|郁闷|伤心|寒心|心塞|唉|哎")
# Deeds that mean a return is under way on the shop's side.
RETURN_DEEDS = ("return_accepted", "refund_submitted")
# Concerns whose drafts stay on a problem (a cause to acknowledge, an apology when the customer vents).
TROUBLE = ("complaint", "delivery_delay", "refund_return")
DELIVERY_STATUS = ("paid", "shipped", "in_transit")
# The concerns a customer's question may be about, as the drafts name them (labels.py topics).
TOPICS = ("price_haggle", "product_inquiry", "refund_return", "delivery_delay", "order_status", "complaint")
# Demonstratives goods_named returns alone: named as "这款商品", not as a bare 这款.
THIS_ONE = {"这款", "这个", "这件", "这种", "这套", "这双", "这条", "这盒", "这包"}


def wish(text: str) -> Optional[str]:
    """What a price talk's message asks for in kind (a gift, one more coupon), or None."""
    norm = normalize(text or "")
    return next((key for key, words in WISHES if words.search(norm)), None)


def let_down(text: str) -> bool:
    return bool(LET_DOWN.search(normalize(text or "")))


def decided(text: str) -> bool:
    return bool(DECIDED.search(normalize(text or "").strip()))


def packing(text: str) -> bool:
    return bool(PACKING.search(normalize(text or "")))


def return_underway(state: ConversationState, said: Sequence[str]) -> bool:
    """The return is already under way: the shop accepted it or refunded, or the customer said (in
    `said`, their latest messages) the goods went back. Only in a case about a return."""
    if any(d in state.done for d in RETURN_DEEDS):
        return True
    return "refund_return" in state.concerns and any(SENT_BACK.search(normalize(t or "")) for t in said)


# 补发的那件 / 换的新的: goods that go out from the warehouse, whatever the case is about.
OUTGOING = re.compile(r"补发|重新发|新的|换的|发货前|发之前|出库前")


def returning(state: ConversationState, text: str) -> bool:
    """Goods the customer packs go back to the shop (a return), not out from the warehouse."""
    norm = normalize(text or "")
    if RETURNING.search(norm):
        return True
    return "refund_return" in state.concerns and not OUTGOING.search(norm)


def delivery_case(state: ConversationState, problems: Sequence[str] = (), shop_said: str = "") -> bool:
    """The case's trouble is the delivery: the case was about it, the courier was chased, the order
    is on its way, this message says the parcel is late, stuck or not shipped, or the shop's last
    message was about the parcel."""
    facts: Mapping = state.facts
    return ("delivery_delay" in state.concerns or "order_status" in state.concerns or "chased_courier" in state.done
            or facts.get("status") in DELIVERY_STATUS or bool(set(problems) & {"late", "stuck", "not_shipped"})
            or bool(PARCEL_TALK.search(shop_said or "")))


def topic_of(state: ConversationState, customer: CustomerReading, text: str) -> Optional[str]:
    """What the message is about, in a few words (None: nothing the words make plain). An unsure
    reading names only what the words show (goods named, a price asked, a concern's cue words)."""
    norm = normalize(text or "")
    sure = not customer.unclear
    # Unsure: only concerns the words themselves evidence (a problem's), not NLU's question guess.
    raised = [c for c in customer.concerns if c in (TOPICS if sure else TROUBLE)]
    if customer.haggles:
        raised.insert(0, "price_haggle")
    if sure and customer.intent in TOPICS:
        raised.append(customer.intent)
    if sure and state.primary in TOPICS:
        raised.append(state.primary)
    topic = raised[0] if raised else None
    goods = goods_named(norm)
    if goods and topic in (None, "product_inquiry", "price_haggle") and (sure or goods in THIS_ONE):
        return "这款商品" if goods in THIS_ONE else goods[:12]
    return label("topics", topic) if topic else None
