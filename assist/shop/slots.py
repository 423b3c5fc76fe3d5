"""The named slots a reply template may use, the conditions it may require, and sample values
at their longest (what lint fills every template with). Their values for one situation are
computed in assist/drafting/slot_values.py.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

from assist.shop.policy_schema import POLICY_SLOTS

FACT_SLOTS: Tuple[str, ...] = ("order_id", "carrier", "product", "days_late", "days_waited", "tracking_no",
                               "last_location", "status_text")
DERIVED_SLOTS: Tuple[str, ...] = ("cause", "follow_up", "compensation", "coupon", "coupon_min_spend",
                                  "floor_coupon", "floor_min_spend", "open_day")
# From the case's conversation state (the phrases are in acts.yml): what the customer just gave,
# what the shop has done so far, what comes next for the case's concern.
# {re_ask}: what the shop asked for and the customer has not given yet, asked once more, briefly.
# {topic}: what the customer's message is about (优惠和价格, 这款商品), named in a reply that can only check.
STATE_SLOTS: Tuple[str, ...] = ("fact_ack", "progress", "next_step", "re_ask", "request_step", "plan", "topic")
ALL_SLOTS: FrozenSet[str] = frozenset(FACT_SLOTS + DERIVED_SLOTS + STATE_SLOTS + POLICY_SLOTS)
# Facts a draft may ask the customer for (a template's `asks:`).
ASKABLE: Tuple[str, ...] = ("order_id", "product")
# Conditions a template may require with `when:`.
FLAGS: Tuple[str, ...] = ("beyond_policy", "repeat", "threat", "vip", "product_fault", "ordered",
                          # the fault is plainly ours (damage, wrong or missing item, a parcel the order says is late)
                          "our_fault",
                          # the customer argues their case (因为, 按理说, 说好的): "您说得在理" only then
                          "argues",
                          # the parcel has not reached the customer (late, stuck, not shipped, or the order says so)
                          "not_received",
                          # from the conversation state: the shop still owes the customer something, or delivered it;
                          # the customer accepted grudgingly (好吧); the shop already did something ({progress} says what)
                          "work_open", "work_done", "reluctant", "progressed",
                          # the shop asked for something (a photo, a count, the order number) and is still waiting
                          "pending",
                          # the shop proposed something ({plan}) and has not done it yet
                          "planned",
                          # the customer's channel can send a photo and none came yet; this message is a photo
                          "photo_askable", "photo_received",
                          # the case is about a problem still open (complaint, delivery, return): a cause is acknowledged
                          "trouble",
                          # the customer made a choice (那我还是要大号的吧); asked about packing or a check before
                          # shipping; the return is already under way; the case's trouble is the delivery
                          "decided", "packing", "underway", "delivery_side",
                          # the next step is answerable in chat within minutes (goods, price, where the order is)
                          "quick",
                          # the message's topic is plain in its words ({topic} has a value)
                          "named",
                          # this message itself names what is wrong (a problem word: 烂了, 还没到)
                          "told")

# Representative values at their longest allowed length: lint fills every template with
# these, so a template that fits and passes the checker here fits and passes for real.
SAMPLE_FACTS: Dict[str, str] = {
    "order_id": "43920188765120937751", "carrier": "中通快递", "product": "加厚珊瑚绒床品四件套",
    "days_late": "12", "days_waited": "15", "tracking_no": "YT2231908876521004", "last_location": "杭州萧山转运中心",
    "status_text": "运输中", "cause": "收到的东西和您买的不一样", "follow_up": "24小时内", "compensation": "20",
    "coupon": "10", "coupon_min_spend": "199", "floor_coupon": "20", "floor_min_spend": "199", "open_day": "明天",
    "fact_ack": "您说的情况我记下了", "progress": "退款已经帮您提交给财务了", "next_step": "把情况登记给售后专员核实",
    "re_ask": "麻烦您拍张照片发我看一下", "request_step": "帮您申请退款", "plan": "给您办理退换",
    "topic": "加厚珊瑚绒床品四件套套装",
}

MAX_CHARS = {"order_id": 20, "tracking_no": 20, "carrier": 6, "product": 12, "last_location": 10}
STATUS_TEXT = {"unpaid": "还没付款", "paid": "已付款、正在备货", "shipped": "已发货", "in_transit": "在运输途中",
               "delivered": "显示已签收", "cancelled": "已取消"}
