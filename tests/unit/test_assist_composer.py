"""Composer: properties for any situation, and the drafts the issue asks for."""
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assist.drafting.checker import check
from assist.drafting.composer import Draft, compose
from assist.shop.intents import INTENTS
from assist.shop.policy import load_policy
from assist.shop.rules import load_rules
from assist.drafting.situation import build_situation
from assist.shop.templates import load_templates

POLICY = load_policy()
BOOK = load_templates(policy=POLICY)
RULES = load_rules()

# Messages written for these tests, by concern and temperament.
MATRIX = {
    "complaint": {
        "reasoning": "因为商品页写的是纯棉，但收到的衣服标签是涤纶，按道理这属于描述不符，请给我一个合理的解释",
        "persistent": "我再问一遍，收到的碗碎了两个，照片也发了，到底怎么处理？",
        "agitated": "你们客服态度太差了！！！气死我了，我要投诉到平台",
        "unreasonable": "东西坏了，不赔三倍我就去12315投诉",
    },
    "delivery_delay": {
        "reasoning": "页面承诺48小时发货，所以按道理现在早该发了，怎么到现在还不发",
        "persistent": "再问一下，快递到底什么时候到？已经等了5天了，单号也给过你们了",
        "agitated": "快递五天了还没到，再不到我就给差评！！",
        "unreasonable": "快递晚了两天，不赔我500块我就去投诉",
    },
    "price_haggle": {
        "reasoning": "同样的款式别家便宜20块，按道理老顾客也该有点优惠吧",
        "persistent": "我再问一下，两件能不能便宜点？第二次问了，到底有没有券？",
        "agitated": "太坑了吧！！这么贵，便宜点",
        "unreasonable": "打五折，不然我就给差评",
    },
    "refund_return": {
        "reasoning": "根据七天无理由退货的约定，我签收才三天，商品也没拆封，所以应该可以退货吧",
        "persistent": "我再问一遍，退款到底什么时候到账？申请了3天了，订单号也给过了",
        "agitated": "什么破东西，赶紧给我退钱！！",
        "unreasonable": "退货可以，但还要赔我精神损失费500",
    },
    "request_human": {
        "reasoning": "因为这个问题比较复杂，所以麻烦转人工客服处理一下",
        "persistent": "我再问一遍，人工客服在吗？第三次了",
        "agitated": "什么垃圾机器人，转人工！！！",
        "unreasonable": "马上转人工，不给我免单我就投诉",
    },
}
ORDER = {"order_id": "4392018876512093", "carrier": "中通快递", "status": "in_transit", "days_late": 5,
         "product": "珊瑚绒四件套"}
PHRASES = [text for rows in MATRIX.values() for text in rows.values()] + [
    "你好", "谢谢", "我的快递到哪了", "这个是什么材质的", "今天天气怎么样", "好的", "不用了", "再见",
]
ACK, APOLOGY, FOLLOW_UP = (RULES.get(r).words for r in ("require.acknowledge", "require.apology", "require.follow_up"))
_OFFER = re.compile(r"(?:券|红包|补偿|补|减|便宜|送您|给您)\D{0,4}?(\d+)元|(\d+)元(?:券|红包|无门槛)")


def offered_amounts(text):
    return [int(a or b) for a, b in _OFFER.findall(text)]


def assert_good_drafts(situation, drafts, channel=None):
    assert 2 <= len(drafts) <= 3
    assert len({d.text for d in drafts}) == len(drafts), "drafts must be distinct"
    for d in drafts:
        assert isinstance(d, Draft)
        assert check(d.text, policy=POLICY, concern=situation.topic, channel=channel) == [], d.text
        assert len(d.text) <= 150
        assert "您" in d.text
        assert "{" not in d.text and "None" not in d.text
        assert 0.0 <= d.score <= 1.0 and d.reason
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+\.[a-z]+\.\d+", d.variant_id)
        if situation.topic in ("complaint", "delivery_delay"):
            assert ACK.matches(d.text) and APOLOGY.matches(d.text) and FOLLOW_UP.matches(d.text), d.text
        for amount in offered_amounts(d.text):
            assert amount <= POLICY.money_ceiling, d.text
    assert [d.score for d in drafts] == sorted((d.score for d in drafts), reverse=True)


# ---- properties -------------------------------------------------------------------------

fact_value = st.one_of(st.none(), st.text(max_size=300), st.integers(-10**6, 10**20), st.booleans(),
                       st.floats(allow_nan=True, allow_infinity=True), st.datetimes())
texts = st.one_of(
    st.sampled_from(PHRASES),
    st.text(max_size=120),
    st.builds(lambda a, b: a + b, st.sampled_from(PHRASES),
              st.sampled_from(["", "！！！", "😡", "<script>alert(1)</script>", "{order_id}", "None", "?？"])),
    st.just(""),
    st.just("急" * 10_000),
    st.text(alphabet=st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), max_size=40),
    st.just("<div onclick='x'>你们是骗子</div>"),
)
situations = st.builds(
    build_situation,
    text=texts,
    intent=st.one_of(st.none(), st.sampled_from(INTENTS), st.text(max_size=8)),
    intent_ranking=st.one_of(st.none(), st.lists(st.fixed_dictionaries(
        {"name": st.sampled_from(INTENTS), "confidence": st.floats(0, 1)}), max_size=4)),
    entities=st.one_of(st.none(), st.lists(st.fixed_dictionaries(
        {"entity": st.sampled_from(["order_id", "carrier", "product", "junk"]), "value": fact_value}), max_size=3)),
    history=st.one_of(st.none(), st.lists(st.one_of(st.sampled_from(PHRASES), st.text(max_size=40), st.none()),
                                          max_size=4)),
    facts=st.one_of(st.none(), st.dictionaries(
        st.sampled_from(["order_id", "carrier", "product", "days_late", "status", "tracking_no", "last_location",
                         "price", "other"]), fact_value, max_size=8)),
    profile=st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        "vip": st.booleans(), "honorific": st.sampled_from(["先生", "女士", "小姐", "", None]),
        "surname": st.text(max_size=4)})),
)
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(situation=situations, seed=st.integers(0, 2**31), channel=st.sampled_from([None, "socketio", "rest", "x"]))
def test_any_situation_gets_two_or_three_clean_drafts(situation, seed, channel):
    drafts = compose(situation, policy=POLICY, templates=BOOK, seed=seed, channel=channel)
    assert_good_drafts(situation, drafts, channel)
    json.dumps([d.to_dict() for d in drafts], ensure_ascii=False)


@PROPERTY
@given(days_late=st.integers(-3, 400), text=st.sampled_from(PHRASES))
def test_compensation_is_exactly_what_policy_allows(days_late, text):
    situation = build_situation(text, intent="delivery_delay", facts={**ORDER, "days_late": days_late})
    owed = POLICY.compensation_for("delivery_delay", days_late)
    for d in compose(situation, policy=POLICY, templates=BOOK):
        for amount in re.findall(r"补一张(\d+)元券|补偿按店铺政策是(\d+)元券|政策是(\d+)元券", d.text):
            assert int(next(a for a in amount if a)) == owed, d.text
        if owed is None:
            assert "补一张" not in d.text


@PROPERTY
@given(text=texts)
def test_garbage_never_raises(text):
    drafts = compose(build_situation(text), policy=POLICY, templates=BOOK)
    assert 2 <= len(drafts) <= 3


# ---- the cases "done when" names -------------------------------------------------------------

CASES = [(c, t) for c in MATRIX for t in MATRIX[c]]


@pytest.mark.parametrize("concern, temperament", CASES, ids=[f"{c}-{t}" for c, t in CASES])
@pytest.mark.parametrize("facts", [None, ORDER], ids=["no-facts", "with-order"])
def test_each_concern_in_each_temperament(concern, temperament, facts):
    situation = build_situation(MATRIX[concern][temperament], intent=concern, facts=facts)
    assert situation.temperament == temperament, situation.temperament_signals
    drafts = compose(situation, policy=POLICY, templates=BOOK)
    assert_good_drafts(situation, drafts)
    reply_set = BOOK.for_concern(situation.topic)
    tone_written = any(v.tone == situation.tone for v in reply_set.variants())
    if tone_written:
        assert any(p.split(".")[2] == situation.tone for p in drafts[0].pieces), drafts[0].pieces
    if concern == "request_human":
        assert all("人工客服" in d.text for d in drafts)
    if temperament == "unreasonable":
        assert any("主管" in d.text for d in drafts), [d.text for d in drafts]
    if facts is None and situation.missing and situation.missing[0] == "order_id":
        assert any("订单号" in d.text for d in drafts)


def test_angry_and_late_gets_priority_and_compensation():
    situation = build_situation("快递五天了还没到，再不到我就给差评", facts=ORDER)
    top = compose(situation, policy=POLICY, templates=BOOK)[0]
    assert "10元券" in top.text and "4392018876512093" in top.text
    assert top.reason.startswith("生气 + 晚到5天") and "优先" in top.reason and "补10元券" in top.reason


def test_missing_order_is_asked_for():
    drafts = compose(build_situation("快递怎么还没到"), policy=POLICY, templates=BOOK)
    assert drafts[0].kind == "ask" and "订单号" in drafts[0].text
    assert "缺订单号" in drafts[0].reason


def test_haggling_climbs_the_ladder_and_stops_at_the_floor():
    first = compose(build_situation("能便宜点吗", facts={"product": "保温杯"}), policy=POLICY, templates=BOOK)
    assert any("10元" in d.text for d in first) and not any("20元" in d.text for d in first)
    again = compose(build_situation("再便宜点吧", history=["能便宜点吗"], facts={"product": "保温杯"}),
                    policy=POLICY, templates=BOOK)
    assert any("20元" in d.text for d in again)
    beyond = compose(build_situation("便宜50块吧", facts={"product": "保温杯"}), policy=POLICY, templates=BOOK)
    assert "主管" in beyond[0].text and "要求超出政策" in beyond[0].reason
    for d in first + again + beyond:
        assert max(offered_amounts(d.text), default=0) <= POLICY.pricing.coupon_ceiling


def test_deterministic_for_the_same_input_and_seed():
    situation = build_situation("收到的杯子碎了，我要退款！！", history=["在吗"], facts={"order_id": "123456789012"})
    first = [d.to_dict() for d in compose(situation, seed=3)]
    assert first == [d.to_dict() for d in compose(situation, seed=3)]
    assert first == [d.to_dict() for d in compose(build_situation("收到的杯子碎了，我要退款！！", history=["在吗"],
                                                                 facts={"order_id": "123456789012"}), seed=3)]
    seeds = {tuple(d.text for d in compose(situation, seed=s)) for s in range(6)}
    assert len(seeds) > 1, "the seed varies the wording"


def test_honorific_from_profile_and_emoji_per_channel():
    calm = build_situation("我想退货", profile={"honorific": "女士", "surname": "李"}, facts={"order_id": "123456789012"})
    drafts = compose(calm, channel="socketio")
    assert all(d.text.startswith("李女士，") for d in drafts)
    assert all(d.text.endswith("😊") for d in drafts)
    assert not any("😊" in d.text for d in compose(calm, channel="rest"))
    angry = build_situation("气死我了！！我要退货")
    assert not any("😊" in d.text for d in compose(angry, channel="socketio"))
    assert not any("先生" in d.text or "女士" in d.text for d in compose(build_situation("我想退货")))


def test_draft_as_json():
    draft = compose(build_situation("转人工"))[0]
    data = draft.to_dict()
    assert {"text", "score", "reason", "variant_id"} <= set(data)
    assert data["variant_id"].startswith("request_human.resolve.")


def test_a_parcel_not_received_is_chased_and_refunded_not_sent_to_after_sales_or_the_7_day_rule():
    delivery = build_situation("快递员说送不了让我自己去取，都第三次了还没送到，太差劲了", intent="complaint",
                               facts={"order_id": "1234567890", "status": "in_transit"})
    top = compose(delivery, policy=POLICY, templates=BOOK)[0].text
    assert "快递" in top and "售后专员" not in top, top
    refund = build_situation("还没收到货我不要了，退款吧", intent="refund_return",
                             facts={"order_id": "1234567890", "status": "in_transit"})
    top = compose(refund, policy=POLICY, templates=BOOK)[0].text
    assert "退款" in top and "无理由" not in top and "签收7天" not in top, top
    # goods that came broken still go the after-sales way
    broken = build_situation("收到的杯子碎了", intent="complaint", facts={"order_id": "1234567890", "status": "delivered"})
    assert not any("配送问题" in d.text or "签收，不用" in d.text for d in compose(broken, policy=POLICY, templates=BOOK))
