"""The etiquette checker: one bad and one good sentence for every rule, and the traps."""
import json
from pathlib import Path

import pytest
import yaml

from assist.drafting.checker import Finding, blocking, check
from assist.shop.policy import load_policy
from assist.shop.rules import load_rules, read_rules

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
    "gap.unfilled": ("这是因为【请填写原因】，您看可以吗？", "这是因为拆封后会影响二次销售，您看可以吗？", {}),
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
         "deflect", "slot.unfilled", "gap.unfilled", "shop.absolute_terms", "shop.money", "shop.discount", "shop.compensation",
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


# ---- agents' own texts: block versus advice (ETIQUETTE §2) -----------------------------------
# (rule that must block, a bad reply, a good reply on the same subject). Written by the project, in
# the way agents type mid-conversation: short, often without a closing question, sometimes in a hurry.
# The good ones may earn advice (no polite close); they must never earn a block finding.
AGENT_PAIRS = [
    # 你 and its variants
    ("address.nin", "妳好，有什么可以帮妳？", "您好，有什么可以帮您？"),
    ("address.nin", "妳們的包裹已经发出了。", "您的包裹已经发出了。"),
    ("address.nin", "你稍等一下，我看看。", "您稍等一下，我看看。"),
    ("address.nin", "亲你好，在的。", "亲，您好，在的。"),
    ("address.nin", "請妳提供一下訂單號。", "請您提供一下訂單號。"),
    ("address.nin", "你们那边收到货了吗", "您这边收到货了吗"),
    ("address.nin", "伱好，在的。", "您好，在的。"),
    ("address.nin", "美女，这款很适合你哦", "这款很适合您哦"),
    ("address.nin", "帅哥稍等", "亲，稍等"),
    # flat refusal, its variants, and the honest "I'll find out"
    ("refuse.flat", "不知道。", "这个我马上帮您确认一下。"),
    ("refuse.flat", "这个我也不清楚。", "这个我也不太清楚，我马上去问一下仓库，稍后回复您。"),
    ("refuse.flat", "不晓得哦。", "我去帮您问问，稍等哦。"),
    ("refuse.flat", "不造呢亲", "亲，我查一下哈"),
    ("refuse.flat", "这我哪知道啊", "这个我帮您核实一下"),
    ("refuse.flat", "我也说不准，您再等等吧。", "我帮您问一下快递，有消息马上告诉您。"),
    ("refuse.flat", "这个问题我回答不了。", "这个问题我请同事确认后答复您。"),
    ("refuse.flat", "我也搞不清楚是怎么回事。", "我先帮您查一下是怎么回事。"),
    ("refuse.flat", "没听说过这个活动。", "这个活动我帮您查一下规则。"),
    ("refuse.flat", "不懂您说什么。", "我不太懂您的意思，您能再说一下吗？"),
    ("refuse.flat", "不知道，我们查不到。", "不知道的话我去查一下。"),
    ("refuse.flat", "这个没法回答。", "目前无法确定到货时间，我会一直帮您盯着。"),
    ("refuse.flat", "天知道什么时候到。", "我帮您查一下什么时候到。"),
    # flat "can't", its colloquial forms, and the same fact with what CAN be done
    ("refuse.cannot", "不能退。", "拆封后不能无理由退，不过质量问题可以退，您拍张照片给我看看。"),
    ("refuse.cannot", "这个退不了。", "这单已经过了退货期，我帮您申请一下售后维修好吗"),
    ("refuse.cannot", "换不了哦亲", "这个颜色没货了，我可以帮您换成相近的颜色"),
    ("refuse.cannot", "不能换", "能不能换要看商品状态，您拍张照片我看看"),
    ("refuse.cannot", "不退不换的", "特价商品也支持质量问题退换"),
    ("refuse.cannot", "没办法，就这样吧。", "这个确实没办法加急，不过我可以帮您备注优先派送。"),
    ("refuse.cannot", "木有办法哦", "我帮您想想办法"),
    ("refuse.cannot", "不支持退款。", "退款要等仓库收到退货，我帮您盯着进度。"),
    ("refuse.cannot", "便宜不了，已经是底价了。", "这个价已经是活动价了，我再送您一张5元券可以吗"),
    ("refuse.cannot", "不能便宜。", "满99元可以用10元券，您看合适吗"),
    ("refuse.cannot", "地址改不了了。", "地址改不了了，不过我可以帮您联系快递改派。"),
    ("refuse.cannot", "这不可能。", "这种情况确实少见，我马上帮您核实。"),
    ("refuse.cannot", "没得商量。", "这个我帮您向主管申请一下。"),
    ("refuse.cannot", "无法退款。", "退款审核通过后一般1-3个工作日原路退回。"),
    ("refuse.cannot", "我们不给退的。", "您这种情况可以退，我来帮您申请。"),
    ("refuse.cannot", "现在只能等着了。", "现在只能等快递更新，我会一直帮您盯着。"),
    ("refuse.cannot", "我帮不了您。", "我来帮您处理。"),
    ("refuse.cannot", "不成", "不成问题"),
    ("refuse.cannot", "我们不退货的哈。", "这单给您仅退款，不用退货。"),
    ("refuse.cannot", "这个我们解决不了。", "这个情况我们这边处理不了，我帮您转给售后专员，他今天会联系您。"),
    ("refuse.cannot", "不可能的。", "不可能让您白等的，我一直盯着。"),
    ("refuse.cannot", "小店不议价哦。", "价格已经是活动价了，我送您一张5元券可以吗"),
    ("refuse.cannot", "就这个价了。", "这个价含运费险，您看可以吗"),
    ("refuse.cannot", "没有优惠了。", "目前没有优惠，不过满99可以用10元券。"),
    ("refuse.cannot", "这是不允许的。", "这个要先申请，我帮您提交。"),
    ("refuse.cannot", "我们这边不处理这种情况。", "这种情况我们这边来处理。"),
    ("refuse.cannot", "这个不能。", "这个能，我帮您操作。"),
    ("refuse.cannot", "不支持哦。", "支持的，您直接申请就行。"),
    ("refuse.cannot", "这个搞不定。", "这个价格我做不了主，我去问问主管。"),
    ("refuse.cannot", "只能这样了。", "先这样处理，有变化我告诉您。"),
    ("refuse.cannot", "想都别想。", "您别想太多，我来处理。"),
    # an offer must be an offer: 不能给您 / 但是换不了 / 我们查不到 are still refusals
    ("refuse.cannot", "这个不能给您退。", "这个能给您退，我来申请。"),
    ("refuse.cannot", "不可以帮您改地址。", "可以帮您改地址。"),
    ("refuse.cannot", "不行，只是不能退。", "不行的话，我帮您申请换货。"),
    ("refuse.cannot", "但是换不了了。", "但是可以换同款别的颜色。"),
    ("refuse.cannot", "没法弄。", "我想办法帮您弄好。"),
    ("refuse.cannot", "没有。", "没有的话，我帮您查一下别的款。"),
    ("refuse.cannot", "不用。", "不用客气。"),
    ("refuse.cannot", "不可能再便宜了。", "价格上我去帮您申请一下。"),
    # rule-shield and its near-synonyms
    ("rule.shield", "这是规定。", "拆封后会影响二次销售，所以只能换不能退，我帮您申请换货好吗"),
    ("rule.shield", "公司规定的，我也没办法。", "我帮您向主管申请一下，今天给您答复。"),
    ("rule.shield", "平台规则就是这样。", "平台要求先退货再退款，我帮您把流程走快一点。"),
    ("rule.shield", "这是我们的规矩。", "我们这样做是为了核对商品，我尽快帮您处理。"),
    ("rule.shield", "系统就是这么设置的。", "系统暂时改不了价格，我给您补一张5元券可以吗"),
    ("rule.shield", "这是公司政策，没有例外。", "按店铺政策给您补一张10元券，您看可以吗"),
    ("rule.shield", "这是公司規定。", "按照国家规定，您享有七天无理由退货。"),
    ("rule.shield", "我们一直都是这样的。", "我们平时是这样处理的，您看可以接受吗"),
    ("rule.shield", "制度就是这样，您理解一下。", "给您添麻烦了，我尽量帮您争取。"),
    ("rule.shield", "不好意思，公司不让。", "按公司政策给您补一张5元券。"),
    ("rule.shield", "我们也是按照流程办事。", "我帮您走一下加急流程。"),
    ("rule.shield", "没有这个先例。", "这种情况比较少见，我帮您申请。"),
    ("rule.shield", "按照规则只能这样。", "这样处理最快，您看可以吗"),
    ("rule.shield", "我们是按章办事。", "我们这就帮您办。"),
    ("rule.shield", "这个不能破例。", "这个情况我帮您特别申请。"),
    # over-promise and its variants; the honest hedge and the empathic 肯定 are fine
    ("promise.over", "保证明天到！", "预计明天送到，我会一直帮您盯着。"),
    ("promise.over", "我们一定给您处理好。", "我们会尽快给您处理好。"),
    ("promise.over", "绝对是正品，放心。", "店里的商品都从品牌授权渠道进货，可以提供进货凭证。"),
    ("promise.over", "百分百没问题。", "应该没有问题，有情况我第一时间告诉您。"),
    ("promise.over", "肯定能到的，您放心。", "换作是我肯定也着急，我帮您催一下快递。"),
    ("promise.over", "肯定没问题的亲", "您肯定很着急，我这就去查。"),
    ("promise.over", "包您满意！", "希望您用得满意。"),
    ("promise.over", "这个我打包票。", "这个我帮您确认过了。"),
    ("promise.over", "必须的！", "需要您先寄回来，我们收到后马上处理。"),
    ("promise.over", "我保證明天發貨。", "不能保证明天一定到，不过我会一直帮您盯着。"),
    ("promise.over", "明天肯定到。", "请您一定保留好包装，方便售后。"),
    ("promise.over", "以后再也不会出现这种问题了。", "我们会改进，尽量不让这种问题再出现。"),
    ("promise.over", "包您喜欢！", "我们正在打包您的订单。"),
    ("promise.over", "万无一失，您放心。", "我们一准备好就给您发货。"),
    ("promise.over", "质量没有任何问题。", "确保您的权益是我们的责任。"),
    ("promise.over", "肯定的，放心。", "这肯定是我们的问题，抱歉。"),
    ("promise.over", "肯定合适您。", "让您等这么久，肯定让您很失望了。"),
    ("promise.over", "错不了，我发誓。", "我核对过了，应该没错。"),
    ("promise.over", "无论如何都给您办成。", "我尽力帮您争取。"),
    # blaming the customer, impatience and condescension
    ("blame.customer", "是您自己没看清楚。", "可能是我们没说清楚，我再帮您看看。"),
    ("blame.customer", "详情页写得很清楚了。", "详情页可能写得不够清楚，我再跟您说明一下。"),
    ("blame.customer", "页面上都写了的。", "尺码表在详情页第三张图，我截图发您。"),
    ("blame.customer", "早就跟您说过了。", "我再跟您确认一下刚才说的情况。"),
    ("blame.customer", "说了多少遍了，七天无理由。", "签收后七天内都支持无理由退货哦。"),
    ("blame.customer", "您怎么不早说。", "谢谢您告诉我们。"),
    ("blame.customer", "是您地址填错了。", "地址好像有一处不对，我帮您改一下好吗"),
    ("blame.customer", "您自己操作失误导致的。", "我帮您看看是哪一步出了问题。"),
    ("blame.customer", "您是不是没仔细看说明书？", "说明书第三页有安装步骤，我截图发您。"),
    ("blame.customer", "买之前不看的吗", "下单前没说清楚是我们的疏忽"),
    ("blame.customer", "您这是无理取闹。", "您的心情我理解，我们一起想办法。"),
    ("blame.customer", "您先别激动，冷静一点。", "您先别着急，我马上帮您查。"),
    ("blame.customer", "这是您的问题。", "您的问题我已经记录下来了。"),
    ("blame.customer", "已经说过了，七天内可以退。", "再跟您确认一下，七天内可以退。"),
    ("blame.customer", "质量没问题，是您不会用。", "我发您一个使用视频，您对照看看。"),
    ("blame.customer", "那您想怎么样？", "您看想怎么处理比较好？"),
    ("blame.customer", "您到底要不要？", "您再考虑一下，不急。"),
    ("blame.customer", "这种小问题也要投诉？", "您的投诉我认真记下了。"),
    ("blame.customer", "您太过分了。", "这确实太过分了，我替您生气。"),
    ("blame.customer", "您的地址写错了。", "地址我帮您核对一下。"),
    ("blame.customer", "您是不是搞错了？", "是不是我们搞错了，我马上核实。"),
    ("blame.customer", "您签收的时候为什么不检查？", "签收时发现问题可以直接拒收，这次我帮您处理。"),
    ("blame.customer", "这属于人为损坏。", "非人为损坏一年内免费维修。"),
    ("blame.customer", "您没说清楚要什么颜色。", "颜色我跟您再确认一下。"),
    ("blame.customer", "呵呵，您说呢。", "哈哈，好的呢。"),
    ("blame.customer", "我也是无语了。", "让您这么无语，真是抱歉。"),
    ("blame.customer", "懒得跟您解释。", "我跟您解释一下。"),
    ("blame.customer", "您自己没看清楚。", "我再帮您看一下。"),
    ("blame.customer", "您下单时没看详情吧。", "详情我再发您看看。"),
    ("blame.customer", "谁叫您不早点申请。", "下次可以早点申请，这次我帮您处理。"),
    ("blame.customer", "有病吧。", "您有什么问题随时问我。"),
    ("blame.customer", "别人都没问题，就您有问题。", "别人也反馈过类似情况，我马上处理。"),
    ("blame.customer", "您是不是操作错了？", "我一步步带您操作一下。"),
    ("blame.customer", "这属于使用不当。", "使用上有疑问的话我发您视频。"),
    ("blame.customer", "购买须知上都写了。", "购买须知里有这一条，我截图给您看。"),
    ("blame.customer", "您都签收了还说没收到？", "系统显示已签收，我帮您联系快递核实。"),
    ("blame.customer", "您这要求不合理。", "您的要求我记下了，我去申请。"),
    ("blame.customer", "您应该先联系我们的。", "您应该已经收到短信了，请留意。"),
    ("blame.customer", "说重点。", "您慢慢说，我在听。"),
    ("blame.customer", "行了行了，知道了。", "好的，我明白了。"),
    ("blame.customer", "是您自己摔坏的。", "摔坏了也别担心，我帮您看看怎么修。"),
    ("blame.customer", "这是您个人原因。", "这是我们的原因，抱歉。"),
    # deflection, dismissal, "not our problem"
    ("deflect", "这不是我们的问题。", "这不是质量问题，是正常的色差，我帮您换一件可以吗"),
    ("deflect", "不是我们的责任，您找快递吧。", "快递那边我来帮您联系。"),
    ("deflect", "这是快递的问题，跟我们没关系。", "快递那边出了点问题，我马上帮您催。"),
    ("deflect", "您自己联系快递吧。", "我这就联系快递核实。"),
    ("deflect", "您去问厂家吧。", "我帮您问一下厂家。"),
    ("deflect", "您去找平台。", "平台那边我帮您申请介入。"),
    ("deflect", "自己去查物流。", "物流信息我帮您查了，在杭州转运中心。"),
    ("deflect", "跟我说没用。", "我来帮您跟进。"),
    ("deflect", "我只是个客服，管不了。", "这个我来跟进，有结果告诉您。"),
    ("deflect", "这事我管不了。", "这事我来帮您协调。"),
    ("deflect", "爱买不买。", "您再考虑一下，有问题随时找我。"),
    ("deflect", "不要就算了。", "不合适也没关系，您随时找我。"),
    ("deflect", "随便您投诉。", "您的意见我会如实反馈。"),
    ("deflect", "投诉也没用的。", "您的投诉我已经登记，24小时内给您答复。"),
    ("deflect", "催也没用，等着吧。", "我再帮您催一下快递。"),
    ("deflect", "别催了，快递就这速度。", "我理解您着急，我这就去催。"),
    ("deflect", "物流的事我们不负责。", "物流的事我们也会负责跟进到底。"),
    ("deflect", "這不是我們的問題", "這件事我來幫您跟進"),
    ("deflect", "这不是我们的问题。", "如果不是我们的问题，运费需要您承担。"),
    ("deflect", "退款要等，急不来。", "退款在处理了，我帮您盯着。"),
    ("deflect", "我们这边显示已经签收了，您自己找找。", "系统显示已签收，我帮您联系快递员问问放在哪了。"),
    ("deflect", "我们只负责发货，物流不归我们。", "物流那边我们也会帮您跟进。"),
    ("deflect", "没有优惠，要买就买。", "现在满99减10，您看合适吗"),
    ("deflect", "随便您。", "颜色随便您选。"),
    ("deflect", "这个我不管。", "我不管多晚都会回复您。"),
    ("deflect", "您找售后客服吧。", "我帮您转给售后专员。"),
    ("deflect", "您联系平台客服吧。", "平台那边我来联系。"),
    ("deflect", "您打快递电话问问。", "我帮您打快递电话问问。"),
    ("deflect", "这是您和快递之间的事。", "快递那边我来跟进。"),
    ("deflect", "问我也没用。", "问我就对了，我来处理。"),
    ("deflect", "我现在没空。", "您没空取件的话，可以让快递放驿站。"),
    ("deflect", "丢件关我们什么事。", "丢件的事我们来跟快递交涉。"),
    ("deflect", "我不负责这个。", "这个由我负责跟进。"),
    ("deflect", "联系快递吧。", "我去联系快递吧。"),
    ("deflect", "问快递去。", "我去问快递。"),
    ("deflect", "您得自己跟快递沟通。", "快递那边我去沟通。"),
    ("deflect", "这是仓库的事。", "仓库那边我去催。"),
    ("deflect", "我只负责售前。", "售后这块我也可以帮您。"),
    ("deflect", "丢件您找快递赔。", "丢件我帮您找快递赔。"),
    ("deflect", "这个得找厂家。", "这个我得问下厂家，稍后回复您。"),
    ("deflect", "那是快递的锅。", "快递那边出了点岔子，我来处理。"),
    ("deflect", "要怪就怪快递。", "快递慢了，给您添麻烦了。"),
    ("deflect", "请自行联系快递。", "我来联系快递。"),
    ("deflect", "请咨询快递。", "我帮您咨询快递。"),
    ("deflect", "这个归售后管。", "我帮您转给售后，他们今天联系您。"),
    ("deflect", "等通知吧。", "有通知我第一时间告诉您。"),
    ("deflect", "我又不是快递。", "快递那边我来问。"),
    ("deflect", "这不在我们服务范围。", "这个我们也可以帮您看看。"),
    # unfilled slots and placeholders
    ("slot.unfilled", "您的订单{order_id}已发货。", "您的订单已发货。"),
    ("slot.unfilled", "运单号是None，您查一下。", "运单号是SF1400223344556，您查一下。"),
    ("slot.unfilled", "XXX先生您好，您的退款已到账。", "王先生您好，退款已经提交。"),
    ("slot.unfilled", "您的单号是：，请查收。", "您的单号是SF123456，请查收。"),
    ("slot.unfilled", "快递公司是【快递公司】。", "快递公司是顺丰速运。"),
    ("slot.unfilled", "单号<tracking_no>已经更新。", "单号已经更新，您刷新看看。"),
    ("slot.unfilled", "您的单号是____，请查收。", "您的单号发您了，请查收。"),
    ("slot.unfilled", "退款金额：N/A", "退款金额：59元"),
    ("slot.unfilled", "您的单号是。", "您的单号是SF1400223344556。"),
    ("slot.unfilled", "您的订单（订单号）已发货", "您的订单（尾号8856）已发货"),
    ("slot.unfilled", "亲爱的%(name)s，您好", "亲爱的顾客，您好"),
    ("slot.unfilled", "您的订单已于发货。", "由于发货延迟给您带来不便，非常抱歉。"),
    ("slot.unfilled", "补偿您元，请查收。", "这是元旦活动的券。"),
    # promises beyond policy: money, compensation, dates said as promises
    ("shop.money", "给您补50元红包。", "给您补一张10元券。"),
    ("shop.money", "我给您补50块。", "给您补10块的券。"),
    ("shop.compensation", "给您双倍赔偿。", "按店铺政策给您补一张10元券。"),
    ("shop.compensation", "这单给您免单。", "这单运费我们承担。"),
    ("shop.money", "我赔您100。", "我补您5元券。"),
    ("shop.money", "我私下转您50。", "我给您申请一张10元券。"),
    ("shop.money", "给您发个30的券。", "满99的券可以叠加使用。"),
    ("shop.money", "给您退200元作为补偿。", "给您退10元作为补偿。"),
    ("shop.money", "给您降价50。", "给您降价5元。"),
    ("shop.compensation", "退您一半货款吧。", "按政策给您补一张5元券。"),
    ("shop.compensation", "再送您一个同款。", "给您补发一个同款。"),
    ("shop.dates", "明天就能送到。", "预计明天送到。"),
    ("shop.dates", "周五前送到。", "预计周五前送到。"),
    ("shop.dates", "后天能到货。", "物流显示后天派送。"),
    ("shop.dates", "今天就能到账。", "通常两三天到账。"),
    ("shop.dates", "马上就到了。", "快递员说马上就到了。"),
    ("shop.dates", "下周一到货。", "一般下周一到货。"),
    ("shop.dates", "3号前送达。", "大概3号前送达。"),
    ("shop.dates", "30分钟内给您回复。", "4小时内给您回复。"),
    ("shop.dates", "10天内到账。", "一般1-3个工作日到账。"),
    ("shop.dates", "3小时内送到", "应该3小时内能送到"),
    ("shop.dates", "今天下午就到。", "预计今天下午到。"),
    ("shop.dates", "这两天就到。", "正常这两天就到。"),
    ("shop.dates", "3天后就到了。", "大概3天后到。"),
    ("shop.dates", "下午3点前送到。", "预计下午3点前送到。"),
    ("shop.dates", "明天给您退款到账。", "明天给您提交退款。"),
]


def block_rules(text, **kwargs):
    return {f.rule for f in blocking(check(text, **kwargs))}


@pytest.mark.parametrize("rule_id, bad, good", AGENT_PAIRS, ids=[f"{r}:{b}" for r, b, _ in AGENT_PAIRS])
def test_agent_pair_bad_blocks_and_good_passes(rule_id, bad, good):
    assert rule_id in block_rules(bad), (bad, check(bad))
    assert block_rules(good) == set(), (good, check(good))


@pytest.mark.parametrize("text", [
    "好的，我这就去仓库核实。",
    "给您添麻烦了，真的很抱歉。",
    "预计周五前送到。",
    "收到，我查一下物流，稍等片刻。",
    "已经帮您备注加急了。",
    "退款已经提交，一般1-3个工作日原路退回。",
    "通常两三天到账。",
    "亲，这款是纯棉的，可以机洗。",
    "麻烦您拍一张外包装的照片发我一下。",
    "运单号是SF1400223344556，您可以随时查看。",
    "这个我确认一下再回复您。",
    "抱歉让您久等了。",
    "没问题，我帮您改一下地址。",
    "这个颜色暂时没货，下周补货，到了我第一时间通知您。",
    "七天无理由退货是支持的，您在订单页点申请退货就行。",
    "不用担心，我们会全程跟进。",
    "嗯嗯，明白。",
    "谢谢您的理解。",
    "正常情况下2-4天送到。",
    "您留的手机号是138****5678，对吗？",
    "这款有XL和XXL两个码。",
    "快递那边说今天派送。",
    "您肯定很着急，我理解。",
    "您说的情况我都记下来了，24小时内给您答复。",
    "我们不能保证一定能追回，但我会尽全力。",
    "您先别着急，我这边帮您看一下物流。",
    "这款暂时没有现货，预计下周到货，到了我通知您好吗？",
    "目前没办法加急，不过我已经帮您备注优先派送了。",
    "您放心，不会让您吃亏的。",
    "我帮您问问仓库能不能今天发出。",
    "如果不合适，您可以申请退货，运费我们出。",
    "抱歉，这个颜色已经卖完了，我帮您看看相近的颜色好吗？",
    "这点小事不用谢。",
    "是我们没说清楚，给您添麻烦了。",
    "由于发货延迟给您带来不便，非常抱歉。",
    "亲，包裹在派送途中了，您保持电话畅通哦。",
    "已于今天上午发货，单号稍后发您。",
    "您这边方便的话拍个视频，我让技术看看。",
    "换货单已经生成了，快递员明天上门取件。",
    "这个尺码偏大，您平时穿M的话建议选S。",
    "抱歉让您久等，刚才咨询的顾客比较多。",
    "这边查到您的退款已经到银行了，银行处理一般需要1-3天。",
    "目前仓库在盘点，今天下午统一发出。",
    "运费险已经理赔了，您查看一下支付宝。",
    "我这边已经给您申请了加急，有进展马上告诉您。",
    "麻烦您核对一下收货地址，我这边看到是杭州西湖区。",
    "不好意思，这个型号停产了，我给您推荐一款差不多的。",
    "我们会把您的意见反馈给质检部门。",
    "收到，您的情况我记下了，今天内回复您。",
    "没事的，不麻烦。",
    "客气了，应该的。",
    "您好，在的，请讲。",
    "这个优惠是自动减的，不用领券。",
    "券已经发到您账户了，下单时选上就行。",
    "您要是着急用，我可以帮您改发顺丰，运费我们出。",
    "稍等，我确认一下是哪个仓发的货。",
    "这个是正常的折痕，熨一下就好了。",
    "新衣服有点味道是正常的，通风一两天就散了。",
    "安装视频我发您了，有不明白的地方随时问我。",
    "您说的那个活动已经结束了，现在下单可以用5元券。",
    "这款是纯棉的，第一次洗可能会有点缩水。",
    "我再跟您确认一下，是要换成黑色L码对吗？",
    "好的，那我给您备注上了。",
    "理解您的心情，换作是我也会着急的。",
    "我们这边确实疏忽了，真的很抱歉。",
    "已经帮您联系快递员了，他说今天傍晚前派送。",
    "您别着急，包裹没有丢，只是中转慢了一点。",
    "亲，您的订单已经签收了，您看看是不是家人代收了？",
    "这个问题之前也有顾客遇到过，按这个步骤操作就好了。",
    "发票开好了，已经发到您邮箱。",
    "退货地址发您了，寄回时备注一下订单号就行。",
    "这款不支持定制刻字，不过可以选礼盒包装。",
    "没关系，您慢慢挑，有问题随时叫我。",
])
def test_good_agent_replies_have_no_block_finding(text):
    assert block_rules(text) == set(), check(text)


def test_the_prefilter_never_hides_a_hit():
    """WordList skips a pattern on text lacking every string the pattern needs; that must change nothing."""
    import re

    from assist.text.normalize import normalize

    texts = [normalize(t, 10_000) for pair in AGENT_PAIRS for t in pair[1:]]
    for rule in load_rules().rules:
        for words in (rule.words, rule.multiples):
            for regex, needs in words._regexes:
                if needs is None:
                    continue
                plain = re.compile(regex.pattern, re.IGNORECASE)
                for text in texts:
                    if plain.search(text):
                        assert any(n in text for n in needs), (rule.id, regex.pattern, text)
