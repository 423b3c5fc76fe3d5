"""One-click fixes (assist/drafting/fixes.py): they fix what they can and invent no reason or fact."""
import pytest

from assist.drafting.checker import blocking, check
from assist.drafting.fixes import GAP, REWRITES, rewrite, with_fixes


def finding(text, rule):
    return next(f.to_dict() for f in check(text) if f.rule == rule)


def block_rules(text):
    return {f.rule for f in blocking(check(text))}


def test_rule_shield_fix_leaves_a_gap_for_the_reason_instead_of_inventing_one():
    text = "非常抱歉，这是公司规定，您看可以吗？"
    fixed = rewrite(text, finding(text, "rule.shield"))
    assert GAP.format("原因") in fixed and "规定" not in fixed
    assert fixed.startswith("非常抱歉，") and fixed.endswith("您看可以吗？")
    assert not any(word in fixed for word in ("为了", "保障", "权益"))
    # the gap itself holds the text back until the agent writes the real reason
    assert block_rules(fixed) == {"gap.unfilled"}
    filled = fixed.replace(GAP.format("原因"), "拆封后会影响二次销售")
    assert block_rules(filled) == set() and check(filled) == []


def test_refusal_fix_leaves_a_gap_for_what_can_be_done():
    text = "这个不行，您还有别的问题吗？"
    fixed = rewrite(text, finding(text, "refuse.cannot"))
    assert "【请填写" in fixed and block_rules(fixed) == {"gap.unfilled"}


@pytest.mark.parametrize("text, rule", [("您的订单{order_id}已发货。", "slot.unfilled"),
                                        ("这是因为【请填写原因】。", "gap.unfilled")])
def test_a_missing_fact_has_no_one_click_fix(text, rule):
    assert rewrite(text, finding(text, rule)) is None


@pytest.mark.parametrize("rule", sorted(REWRITES))
def test_every_replacement_is_clean_or_a_marked_gap(rule):
    _, replacement = REWRITES[rule]
    found = {f.rule for f in check(replacement, whole_message=False)}
    assert found == ({"gap.unfilled"} if "【请填写" in replacement else set()), (rule, replacement, found)


def test_with_fixes_keeps_the_severity():
    text = "你好，我保证明天到"
    fixes = {f["rule"]: f for f in with_fixes(text, [f.to_dict() for f in check(text)])}
    assert fixes["address.nin"]["severity"] == "block" and fixes["close.polite"]["severity"] == "advice"
    assert fixes["close.polite"]["apply"].endswith("？")
