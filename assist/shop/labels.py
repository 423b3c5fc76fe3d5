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
    "threats": {"review": "差评", "platform": "投诉平台", "regulator": "12315", "media": "曝光", "legal": "起诉"},
    "senders": {"customer": "顾客", "bot": "机器人", "agent": "客服"},
    "actions": {"approve": "原样发送", "edit": "修改后发送", "reject": "拒绝"},
    "facts": {
        "order_id": "订单号", "carrier": "快递", "days_late": "晚到天数", "product": "商品", "tracking_no": "运单号",
        "last_location": "最新位置", "duration": "顾客说等了", "status": "订单状态", "promised_by": "承诺送达",
    },
}


def label(table: str, key: str) -> str:
    """The word for `key` in `table` (moods, concerns …); the key itself when there is none."""
    words: Mapping[str, str] = LABELS.get(table, {})
    return words.get(key, key)
