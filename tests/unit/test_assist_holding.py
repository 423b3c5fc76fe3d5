"""Holding messages: a person will answer, roughly when; after hours, when the shop opens."""
from datetime import datetime, timezone

import pytest
import yaml

from assist.drafting.checker import check
from assist.drafting.holding import compose_holding, holding_message, is_open, next_opening, wait_update_message
from assist.shop.policy import DEFAULT_PATH, load_policy
from assist.drafting.situation import build_situation

POLICY = load_policy()
CALM = build_situation("转人工")
ANGRY = build_situation("快递五天了还没到，气死我了！！")
WEDNESDAY = datetime(2024, 6, 12)


def at(hour, minute=0, day=WEDNESDAY):
    return day.replace(hour=hour, minute=minute)


@pytest.mark.parametrize("situation", [CALM, ANGRY], ids=["calm", "angry"])
@pytest.mark.parametrize("hour", [3, 9, 12, 21, 22, 23])
def test_holding_is_short_clean_and_says_when(situation, hour):
    text = holding_message(situation, POLICY, at(hour))
    assert len(text) <= 150
    assert check(text, policy=POLICY) == []
    assert "人工" in text or "客服" in text
    if 9 <= hour < 22:
        assert f"{POLICY.wait_minutes}分钟" in text
    else:
        assert "09:00" in text and ("今天" in text if hour < 9 else "明天" in text)


def test_angry_customers_get_the_calming_variant():
    message = compose_holding(ANGRY, POLICY, at(12))
    assert ".calming." in message.variant_id and message.in_hours
    assert "包裹迟迟没到" in message.text


def test_time_zone_aware_now_is_converted_to_the_shop_clock():
    # 02:00 UTC is 10:00 in Shanghai: open.
    assert is_open(POLICY, datetime(2024, 6, 12, 2, 0, tzinfo=timezone.utc))
    assert not is_open(POLICY, datetime(2024, 6, 12, 15, 0, tzinfo=timezone.utc))


def test_weekend_closed_shop_names_monday(tmp_path):
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["business_hours"]["days"] = [1, 2, 3, 4, 5]
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    weekdays_only = load_policy(path)
    saturday = datetime(2024, 6, 15, 12, 0)
    assert next_opening(weekdays_only, saturday) == ("后天", "09:00")
    friday_night = datetime(2024, 6, 14, 23, 0)
    assert next_opening(weekdays_only, friday_night) == ("周一", "09:00")
    assert "周一09:00" in holding_message(CALM, weekdays_only, friday_night)


def test_wait_update():
    during = wait_update_message(CALM, POLICY, at(12))
    assert "久等" in during or "排队" in during
    assert check(during, policy=POLICY) == []
    assert "09:00" in wait_update_message(CALM, POLICY, at(23))


def test_default_now_works():
    assert holding_message(CALM)
