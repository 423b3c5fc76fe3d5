"""The words agents read for the core's names: one table for the drafts' reasons, the queue's
urgency reasons and the console's pages (served by /api/me), so they never disagree."""
from __future__ import annotations

from typing import Dict, Mapping

LABELS: Dict[str, Dict[str, str]] = {
    "concerns": {
        "complaint": "投诉", "delivery_delay": "催件", "refund_return": "退换", "price_haggle": "议价",
        "request_human": "要人工", "order_status": "查订单", "product_inquiry": "商品咨询", "greet": "打招呼",
        "goodbye": "告别", "thanks": "致谢", "affirm": "肯定", "deny": "否定", "out_of_scope": "其他",
    },
    "moods": {"calm": "平静", "anxious": "着急", "angry": "生气", "abusive": "辱骂"},
    "temperaments": {"reasoning": "讲理型", "persistent": "较真型", "agitated": "激动型", "unreasonable": "无理型"},
    "tones": {"warm": "温和坚定", "patient": "耐心安抚", "calming": "冷静安抚", "boundary": "礼貌守底线"},
    "threats": {"review": "差评", "platform": "投诉平台", "regulator": "12315", "media": "曝光", "legal": "起诉", "leave": "不送就退单"},
    "senders": {"customer": "顾客", "bot": "机器人", "agent": "客服"},
    "actions": {"approve": "原样发送", "edit": "修改后发送", "reject": "拒绝"},
    "roles": {"agent": "客服", "supervisor": "主管"},
    # How a case changed hands (the case view and the history show it with the note).
    "handovers": {"transfer": "转交", "reassign": "主管改派"},
    "facts": {
        "order_id": "订单号", "carrier": "快递", "days_late": "晚到天数", "product": "商品", "tracking_no": "运单号",
        "last_location": "最新位置", "duration": "顾客说等了", "status": "订单状态", "promised_by": "承诺送达",
        "days_waited": "顾客说等了几天", "status_zh": "订单状态", "waybill": "快递单号", "phone": "联系电话",
        "address": "地址", "photo": "照片", "order_id_from_shop": "订单号来自", "shipped_at": "发货时间",
        "ordered_at": "下单时间", "last_update_at": "物流更新", "customer_id": "顾客编号", "name": "姓名",
        "goods_said": "顾客说的商品", "product_code": "商品编号", "order_id_seen": "订单客服已查到", "product_seen": "商品客服已确认",
        "order_lookup": "订单查询",
    },
    # What the order store said about the number given (a shop's item number looks like an order number).
    "order_lookup": {"not_found": "没查到这个号码的订单（也许是商品编号，请核对）"},
    # The conversation state (assist/cases/state.py), in the words the case panel shows.
    "acts": {
        "opens": "开始反映问题", "answers": "回答了我们的问题", "new_question": "问了新问题", "new_problem": "提出了新问题",
        "pushes": "在催", "acknowledges": "表示接受", "declines": "不接受方案", "thanks": "道谢", "closes": "要结束对话",
        "cancels": "取消等人工", "informs": "补充了情况", "requests": "要我们办一件事", "greets": "打招呼",
    },
    "asked": {
        "order_id": "订单号", "waybill": "快递单号", "phone": "联系电话", "address": "地址", "photo": "照片",
        "product": "哪件商品", "more": "还有没有别的需要", "count": "数量", "detail": "具体情况", "choice": "想怎么处理", "confirm": "是否同意方案",
    },
    "done": {
        "checking": "正在核实", "chased_courier": "已催快递", "refund_submitted": "已提交退款", "return_accepted": "售后已通过",
        "coupon_offered": "给过优惠券", "compensated": "已申请补偿", "recorded": "已登记", "escalated": "已转专员",
        "resent": "已安排补发", "ordered": "顾客已下单",
    },
    # What the shop proposed or planned (可以给您补发) and has not done yet.
    "offered": {
        "checking": "核实", "chased_courier": "催快递", "refund_submitted": "退款", "return_accepted": "通过售后",
        "coupon_offered": "优惠券", "compensated": "补偿", "recorded": "登记", "escalated": "转专员", "resent": "补发",
    },
    # What a customer's message is about, as a draft names it (关于{topic}，我马上帮您确认).
    "topics": {
        "price_haggle": "优惠和价格", "product_inquiry": "商品的情况", "refund_return": "退换和退款",
        "delivery_delay": "包裹配送", "order_status": "订单和物流", "complaint": "您反映的问题",
    },
    "stages": {"open": "客服还没回复", "in_progress": "处理中", "done": "已给出处理"},
    "trends": {"rising": "在升级", "steady": "平稳", "falling": "在缓和"},
    "irritation": {"pushes": "催问", "repeats": "重复问", "？？": "连打问号", "waited": "说等了好几天"},
    # The customer's open questions, by FAQ id (policy.yml faq:); "question" is one no entry fits.
    # An id without a word here is shown as "有一个问题还没答", never as the id.
    "questions": {
        "shipping_time": "几天能到", "free_shipping": "包不包邮", "return_policy": "能不能退货",
        "refund_arrival": "退款多久到账", "return_shipping": "退货运费谁出", "payment_methods": "怎么付款",
        "cash_on_delivery": "能不能货到付款", "invoice": "发票怎么开", "authenticity": "是不是正品",
        "warranty": "怎么保修", "exchange": "怎么换货",
        "invoice_delivery": "发票到哪了", "photos": "要不要拍照", "coupons": "优惠券怎么用", "delivery_hours": "几点能送到",
    },
}


def label(table: str, key: str) -> str:
    """The word for `key` in `table` (moods, concerns …); the key itself when there is none."""
    words: Mapping[str, str] = LABELS.get(table, {})
    return words.get(key, key)
