"""Policy: one file the bot and the drafts share; loaded, validated, answered from."""

import pytest
import yaml

from assist.drafting.checker import check
from assist.shop.errors import DataError
from assist.drafting.faq import FaqAnswer, answer
from assist.settings import get_settings
from assist.shop.policy import DEFAULT_PATH, load_policy

POLICY = load_policy()


def _write(tmp_path, data, name="policy.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _data():
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_sections_the_first_line_bot_uses():
    raw = POLICY.raw
    assert raw["shop"]["name"]
    shipping = raw["shipping"]
    assert {"dispatch_within_hours", "carriers", "delivery_days", "remote_regions", "free_shipping_threshold"} <= set(shipping)
    assert set(shipping["delivery_days"]) == {"default", "remote"}
    assert {"no_reason_days", "refund_arrival_days", "return_shipping", "exchange_days"} <= set(raw["returns"])
    assert {"methods", "cod", "invoice"} <= set(raw["payment"])
    assert raw["business_hours"]["timezone"] == "Asia/Shanghai"
    assert {"days", "open", "close"} <= set(raw["business_hours"])


def test_what_drafts_may_offer():
    assert POLICY.compensation_for("delivery_delay", 2) is None
    assert POLICY.compensation_for("delivery_delay", 5) == 10
    assert POLICY.compensation_for("delivery_delay", 30) == 20
    assert POLICY.compensation_for("complaint", 30) is None
    assert POLICY.follow_up_text("delivery_delay") == "4小时内"
    assert POLICY.follow_up_text("no_such_concern") == "24小时内"
    ladder = POLICY.pricing.haggling_ladder
    assert ladder[0].rung == "list_price" and ladder[-1].coupon <= POLICY.pricing.coupon_ceiling
    assert POLICY.emoji_for("socketio") and POLICY.emoji_for("rest") is None and POLICY.emoji_for(None) is None


def test_env_var_overrides_the_default(tmp_path, monkeypatch):
    data = _data()
    data["shop"]["name"] = "测试小店"
    monkeypatch.setenv("KEFU_POLICY", str(_write(tmp_path, data)))
    assert load_policy().shop_name == "测试小店"
    monkeypatch.delenv("KEFU_POLICY")
    get_settings.cache_clear()  # settings are read once per process; this test changes them
    assert load_policy().shop_name == POLICY.shop_name


def test_every_schema_problem_is_listed_with_file_and_line(tmp_path):
    data = _data()
    del data["shop"]
    data["pricing"]["coupon_ceiling"] = "many"
    data["shipping"]["delivery_days"]["default"] = "soon"
    data["surprise"] = 1
    path = _write(tmp_path, data)
    with pytest.raises(DataError) as caught:
        load_policy(path)
    lines = str(caught.value).splitlines()
    assert len(lines) >= 4
    assert all(line.startswith(f"{path}:") for line in lines)
    text = str(caught.value)
    assert "pricing.coupon_ceiling: 'many' is not of type 'integer'" in text
    assert "shipping.delivery_days.default" in text
    assert "'shop' is a required property" in text


def test_rules_a_schema_cannot_express(tmp_path):
    data = _data()
    data["pricing"]["haggling_ladder"][1]["coupon"] = 99
    data["business_hours"]["timezone"] = "Mars/Olympus"
    data["faq"][0]["answer"] = "{no_such_slot}，还有别的问题吗？"
    path = _write(tmp_path, data)
    with pytest.raises(DataError) as caught:
        load_policy(path)
    text = str(caught.value)
    assert "pricing.haggling_ladder[1].coupon: coupon 99 is above coupon_ceiling" in text
    assert "unknown time zone 'Mars/Olympus'" in text
    assert "faq[0].answer: unknown slot {no_such_slot}" in text


def test_faq_answer_that_breaks_etiquette_is_refused(tmp_path):
    """Loading the file checks its shape only; the servers load it checked, and lint reports it."""
    from assist.drafting.lint import lint
    from assist.drafting.shop_checks import load_checked_policy

    data = _data()
    data["faq"][0]["answer"] = "这是公司规定，你自己看吧。"
    path = _write(tmp_path, data)
    assert load_policy(path).faq[0].answer == "这是公司规定，你自己看吧。"
    with pytest.raises(DataError) as caught:
        load_checked_policy(path)
    assert "faq[0].answer: rule" in str(caught.value)
    assert str(caught.value).startswith(f"{path.resolve()}:")
    problems, _ = lint(policy_path=path)
    assert any(p.path == "faq[0].answer" and p.line > 1 for p in problems)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("shop:\n  name: [unclosed\nshipping: {}\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(f"{path}:")
    assert "YAML syntax" in str(caught.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError) as caught:
        load_policy(tmp_path / "nope.yml")
    assert "nope.yml:1: (top): cannot read file" in str(caught.value)


@pytest.mark.parametrize("question, entry", [
    ("下单后几天能到？", "shipping_time"),
    ("满多少包邮", "free_shipping"),
    ("支持七天无理由吗", "return_policy"),
    ("退款多久到账", "refund_arrival"),
    ("退货运费谁出", "return_shipping"),
    ("可以用花呗吗，支付方式有哪些", "payment_methods"),
    ("能货到付款吗", "cash_on_delivery"),
    ("可以开发票吗", "invoice"),
    ("这个是正品吗", "authenticity"),
    ("保修多久", "warranty"),
    ("能换尺码吗", "exchange"),
])
def test_faq_covers_the_usual_questions(question, entry):
    found = answer(question, POLICY)
    assert isinstance(found, FaqAnswer) and found.id == entry
    assert "{" not in found.text
    assert check(found.text, policy=POLICY) == []


def test_faq_fills_from_policy_and_respects_intent():
    found = answer("包邮吗", POLICY)
    assert str(POLICY.shipping.free_shipping_threshold) in found.text
    assert answer("包邮吗", POLICY, intent="refund_return") is None
    assert answer("包邮吗", POLICY, intent="price_haggle").id == "free_shipping"
    assert answer("今天天气怎么样", POLICY) is None
    assert answer("", POLICY) is None
