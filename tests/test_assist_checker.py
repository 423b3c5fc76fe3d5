"""The etiquette checker: one bad and one good sentence for every rule, and the traps."""
import json
from pathlib import Path

import pytest
import yaml

from assist.checker import Finding, blocking, check
from assist.policy import load_policy
from assist.rules import load_rules, read_rules

# rule id → (bad sentence, good sentence, keyword arguments for check)
PAIRS = {
    "address.nin": ("你好，请问有什么可以帮你？", "您好，请问有什么可以帮您？", {}),
    "refuse.flat": ("这个我也不清楚，您还有别的问题吗？", "这个我马上帮您确认一下，您稍等好吗？", {}),
    "refuse.cannot": ("这个不行，您还有别的问题吗？", "您看这样安排行不行？", {}),
    "rule.shield": ("这是公司规定，您还有别的问题吗？", "拆封后会影响再次销售，我帮您申请换货可以吗？", {}),
    "promise.over": ("我们保证今天处理好，您看可以吗？", "我们会尽快处理，您看可以吗？", {}),
    "blame.customer": ("是您自己没看清楚，还有别的问题吗？", "可能是我们没说清楚，我再帮您看看好吗？", {}),
    "deflect": ("这个不归我们管，您找快递去吧，谢谢。", "这件事我来帮您跟进，您看可以吗？", {}),
    "slot.unfilled": ("您的订单{order_id}已发货，还有别的问题吗？", "您的订单已发货，还有别的问题吗？", {}),
    "concise": ("您好，" + "我们会尽快为您处理。" * 16 + "谢谢您。", "我们会尽快为您处理，谢谢您。", {}),
    "close.polite": ("您的订单已经发货了。", "您的订单已经发货了，还有其他需要吗？", {}),
    "require.nin": ("让大家久等了，非常抱歉，4小时内回复进展，可以吗？",
                    "让您久等了，非常抱歉，4小时内给您回复进展，可以吗？", {"concern": "complaint"}),
    "require.acknowledge": ("非常抱歉，4小时内给您回复，您看可以吗？",
                            "让您久等了，非常抱歉，4小时内给您回复，您看可以吗？", {"concern": "delivery_delay"}),
    "require.apology": ("让您久等了，4小时内给您回复，您看可以吗？",
                        "让您久等了，真的很抱歉，4小时内给您回复，您看可以吗？", {"concern": "delivery_delay"}),
    "require.follow_up": ("让您久等了，非常抱歉，您看可以吗？",
                          "让您久等了，非常抱歉，4小时内给您回复，您看可以吗？", {"concern": "complaint"}),
    "shop.absolute_terms": ("这是全网最低价，您放心买，谢谢。", "这款最近很受欢迎，最晚明天发货，您看可以吗？", {}),
    "shop.money": ("给您补偿50元红包，您看可以吗？", "给您补偿10元红包，您看可以吗？", {}),
    "shop.discount": ("给您打五折，您看可以吗？", "给您打九五折，您看可以吗？", {}),
    "shop.compensation": ("给您双倍赔偿，您看可以吗？", "按店铺政策给您补一张10元券，您看可以吗？", {}),
    "shop.dates": ("3小时内给您回复，谢谢您。", "4小时内给您回复，谢谢您。", {}),
    "emoji.channel": ("好的，马上为您处理😊，谢谢您", "好的，马上为您处理，谢谢您", {"channel": "rest"}),
}


def rules_of(findings):
    return {f.rule for f in findings}


def test_every_rule_in_the_file_has_a_pair():
    ids = {rule.id for rule in load_rules().rules}
    assert ids == set(PAIRS), f"add a bad/good pair for: {sorted(ids - set(PAIRS))}"


@pytest.mark.parametrize("rule_id", sorted(PAIRS))
def test_bad_sentence_is_flagged_and_good_one_is_clean(rule_id):
    bad, good, kwargs = PAIRS[rule_id]
    assert rule_id in rules_of(check(bad, **kwargs)), bad
    assert check(good, **kwargs) == [], good


@pytest.mark.parametrize("flagged, clean", [
    ("你好，请问要帮忙吗？", "您好，请问要帮忙吗？"),
    ("这个不行，还有别的问题吗？", "这个方案行不行呢？"),
    ("我们一定处理好，您看可以吗？", "这在一定程度上能缓解，您看可以吗？"),
    ("这是最好的选择，您看呢？", "您最好先拍张照片，方便吗？"),
    ("我们是销量第一，您看呢？", "我们第一时间处理，您看可以吗？"),
    ("我们家最便宜，您看呢？", "最近发货会最晚慢一天，您看可以吗？"),
    ("你买的风扇到了，还有问题吗？", "您买的迷你风扇到了，还有问题吗？"),
])
def test_traps(flagged, clean):
    assert check(flagged), flagged
    assert check(clean) == [], clean


def test_traditional_characters_and_full_width_are_caught_with_original_spans():
    text = "請稍等，你們這個不行！這是公司規定"
    found = check(text)
    assert {"address.nin", "refuse.cannot", "rule.shield"} <= rules_of(found)
    spans = {f.rule: text[f.span[0]:f.span[1]] for f in found}
    assert spans["address.nin"] == "你們"
    assert spans["refuse.cannot"] == "不行"
    assert spans["rule.shield"] == "公司規定"


def test_span_points_into_the_original_text_after_squeezed_repeats():
    text = "好好好好好好，你看可以吗？"
    (finding,) = check(text)
    assert text[finding.span[0]:finding.span[1]] == "你"


def test_finding_as_json():
    finding = check("你好")[0]
    assert isinstance(finding, Finding)
    as_dict = finding.to_dict()
    assert set(as_dict) == {"rule", "severity", "span", "why", "fix"}
    json.dumps(as_dict, ensure_ascii=False)
    assert finding.fix == "您好" and as_dict["severity"] == "block"


# ETIQUETTE §2: what needs an override to send, and what is only advice.
BLOCK = {"address.nin", "refuse.flat", "refuse.cannot", "rule.shield", "promise.over", "blame.customer",
         "deflect", "slot.unfilled", "shop.absolute_terms", "shop.money", "shop.discount", "shop.compensation",
         "shop.dates"}
ADVICE = {"concise", "close.polite", "require.nin", "require.acknowledge", "require.apology", "require.follow_up",
          "emoji.channel"}


def test_severities_follow_the_spec():
    by_severity = {rule.id: rule.severity for rule in load_rules().rules}
    assert {r for r, s in by_severity.items() if s == "block"} >= BLOCK
    assert {r for r, s in by_severity.items() if s == "advice"} == ADVICE


@pytest.mark.parametrize("rule_id", sorted(PAIRS))
def test_each_finding_carries_its_rules_severity(rule_id):
    bad, _, kwargs = PAIRS[rule_id]
    severity = load_rules().get(rule_id).severity
    assert {f.severity for f in check(bad, **kwargs) if f.rule == rule_id} == {severity}


@pytest.mark.parametrize("text", [
    "好的，我这就去仓库核实。",
    "给您添麻烦了，真的很抱歉。",
    "收到，我看一下物流。",
    "您的订单已经发货了。",
])
def test_mid_conversation_replies_get_advice_at_most(text):
    findings = check(text)
    assert blocking(findings) == [], findings
    assert all(f.severity == "advice" for f in findings)


def test_long_text_is_advice():
    text = "您好，" + "我们会尽快为您处理。" * 16 + "谢谢您。"
    assert [f.rule for f in check(text)] == ["concise"] and blocking(check(text)) == []


def test_a_rule_without_severity_is_named_with_file_and_line(tmp_path):
    source = Path(load_rules().source).read_text(encoding="utf-8")
    broken = source.replace("    severity: block\n", "", 1).replace("severity: advice", "severity: maybe", 1)
    path = tmp_path / "etiquette.yml"
    path.write_text(broken, encoding="utf-8")
    book, problems = read_rules(path)
    assert book is None and len(problems) == 2
    messages = [str(p) for p in problems]
    assert any("'severity' is a required property" in m for m in messages)
    assert any("'maybe' is not one of ['block', 'advice']" in m for m in messages)
    assert all(m.startswith(f"{path}:") and not m.startswith(f"{path}:1:") for m in messages)


@pytest.mark.parametrize("text", [None, "", "   ", "😡" * 50, "<script>alert('你')</script>", "啊" * 10_000, "{", "}{"])
def test_any_text_never_raises(text):
    findings = check(text)
    assert isinstance(findings, list)


def test_long_text_span_covers_the_overflow():
    text = "您好" * 5000
    concise = [f for f in check(text) if f.rule == "concise"]
    assert concise and concise[0].span == (150, 10_000)


def test_structure_rules_only_for_complaint_and_delay():
    text = "好的，已经帮您登记了，您看可以吗？"
    assert check(text) == []
    assert {"require.acknowledge", "require.apology", "require.follow_up"} <= rules_of(check(text, concern="complaint"))


def test_fragment_mode_skips_close_and_structure():
    assert check("您的订单已经发货了。", whole_message=False) == []


def test_time_frames_from_policy_are_allowed():
    policy = load_policy()
    for hours in policy.follow_up_hours.values():
        assert check(f"{hours}小时内给您回复，谢谢您。", policy=policy) == []
    assert check("今天18点前给您回复，谢谢您。") == []


def test_arrival_promises_are_flagged():
    assert "shop.dates" in rules_of(check("包裹明天就能送到，谢谢您。"))
    assert "shop.dates" in rules_of(check("退款马上到账，谢谢您。"))


@pytest.mark.parametrize("promise, estimate", [
    ("周五前送到。", "预计周五前送到。"),
    ("后天能到货。", "物流显示后天派送。"),
    ("今天就能到账。", "通常两三天到账。"),
    ("马上就到了。", "快递员说马上就到了。"),
    ("3号前送达。", "大概3号前送达。"),
    ("10天内到账。", "一般1-3个工作日到账。"),
    ("3小时内送到。", "应该3小时内能送到。"),
    ("明天到。", "预计明天发出，后天送到。"),
])
def test_an_estimate_is_not_a_promise(promise, estimate):
    assert "shop.dates" in rules_of(check(promise))
    assert "shop.dates" not in rules_of(check(estimate)), check(estimate)


def _policy_without_compensation(tmp_path):
    data = yaml.safe_load(Path(load_policy().source).read_text(encoding="utf-8"))
    data["compensation"] = {}
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_policy(path)


def test_compensation_words_flagged_when_policy_has_none(tmp_path):
    text = "我们会给您补偿，您看可以吗？"
    assert check(text) == []
    assert "shop.compensation" in rules_of(check(text, policy=_policy_without_compensation(tmp_path)))


def test_money_ceiling_follows_policy(tmp_path):
    policy = load_policy()
    assert check(f"送您{policy.money_ceiling}元优惠券，您看可以吗？") == []
    assert "shop.money" in rules_of(check(f"送您{policy.money_ceiling + 1}元优惠券，您看可以吗？"))
