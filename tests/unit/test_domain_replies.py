"""Every reply the bot sends by itself (domain.yml responses) follows the etiquette rules."""
from pathlib import Path

import pytest
import yaml

from assist.drafting.checker import check
from assist.shop.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
RESPONSES = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
SAMPLE = {
    "order_id": "1234567890", "product": "羽绒服", "carrier": "中通", "tracking_no": "ZT7788123456",
    "last_location": "郑州转运中心", "last_update_at": "11月20日 10:00", "promised_by": "11月19日", "days_late": 5,
    "late_by": "5天",
}
# Said in one message with the holding message after it (actions/person.py hand_over): checked as sent.
JOINED_WITH_HOLDING = {"utter_order_late_paid", "utter_order_late_in_transit", "utter_order_for_colleague"}
HOLDING = "已经为您转接人工客服，预计5分钟内会有同事回复您，感谢您耐心等待。"


@pytest.mark.parametrize(
    "name, text",
    [(name, variant["text"]) for name, variants in RESPONSES.items() for variant in variants],
    ids=lambda value: value if isinstance(value, str) and value.startswith("utter_") else "",
)
def test_response_passes_the_checker(name, text):
    filled = text.format(**SAMPLE) + (HOLDING if name in JOINED_WITH_HOLDING else "")
    assert "{" not in filled
    findings = check(filled, policy=load_policy())
    assert not findings, [f.to_dict() for f in findings]
    assert "您" in filled, "address the customer as 您"
    assert len(filled) <= 150
