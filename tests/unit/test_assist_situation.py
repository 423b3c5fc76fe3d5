"""Situation: concerns, mood and its trend, temperament, urgency, facts."""
import json
from datetime import datetime

import pytest

from assist.drafting.situation import build_situation


def test_one_message_carries_several_concerns():
    s = build_situation("快递晚了三天才到，收到杯子还是碎的，我要退款")
    assert {"delivery_delay", "complaint", "refund_return"} <= set(s.concerns)
    assert "damaged" in s.problems
    assert s.needs_person


@pytest.mark.parametrize("text, mood", [
    ("请问什么时候发货", "calm"),
    ("急用，怎么还没到??", "anxious"),
    ("气死我了！！太过分了", "angry"),
    ("你们这群骗子", "abusive"),
    ("傻 逼客服", "abusive"),
    ("快遞還沒到，氣死我了！！", "angry"),
    ("😡😡怎么还没发货", "angry"),
])
def test_mood(text, mood):
    assert build_situation(text).mood == mood


@pytest.mark.parametrize("text, kind", [
    ("再不发货我就给差评", "review"),
    ("我要投诉到平台", "platform"),
    ("我去12315告你们", "regulator"),
    ("我要曝光你们", "media"),
])
def test_threats_are_named_and_make_the_customer_angry(text, kind):
    s = build_situation(text)
    assert kind in s.threats
    assert s.mood in ("angry", "abusive")
    assert s.temperament in ("agitated", "unreasonable")


def test_harmless_words_near_insults_stay_calm():
    for text in ("滚筒洗衣机有货吗", "垃圾袋多少钱一卷", "谢谢你，妈妈很喜欢", "这是MD码吗"):
        assert build_situation(text).mood == "calm", text


def test_rising_anger_raises_urgency_before_any_request_for_a_person():
    history = ["请问什么时候发货", "怎么还没发货??"]
    now = "还不发货？太过分了！！"
    rising = build_situation(now, history=history)
    alone = build_situation(now)
    assert rising.mood_trend == "rising"
    assert rising.mood_history == ("calm", "anxious", "angry")
    assert rising.urgency > alone.urgency
    assert any(r.startswith("情绪升级") for r in rising.urgency_reasons)
    assert "request_human" not in rising.concerns


def test_falling_and_steady_trends():
    assert build_situation("好的谢谢", history=["气死我了！！"]).mood_trend == "falling"
    assert build_situation("在吗").mood_trend == "new"


@pytest.mark.parametrize("text, history, temperament", [
    ("因为页面写着48小时发货，所以按道理现在应该已经发了，请给个合理的解释", None, "reasoning"),
    ("我再问一遍，快递到底什么时候到？", None, "persistent"),
    ("快递到哪了", ["快递到哪了", "我的快递呢"], "persistent"),
    ("什么破东西，气死我了！！", None, "agitated"),
    ("不赔三倍我就去12315投诉", None, "unreasonable"),
    ("打五折，不然我就给差评", None, "unreasonable"),
    ("快递晚了两天，赔我500块", None, "unreasonable"),
])
def test_temperament_from_what_the_customer_says(text, history, temperament):
    s = build_situation(text, history=history)
    assert s.temperament == temperament, s.temperament_signals
    assert s.tone == {"reasoning": "warm", "persistent": "patient", "agitated": "calming",
                      "unreasonable": "boundary"}[temperament]


def test_urgency_rises_with_days_late_repeats_threats_and_vip():
    base = build_situation("快递怎么还没到")
    late = build_situation("快递怎么还没到", facts={"days_late": 5})
    repeated = build_situation("快递怎么还没到", history=["快递怎么还没到", "还没到吗"])
    threat = build_situation("快递怎么还没到，我要给差评")
    vip = build_situation("快递怎么还没到", profile={"vip": True})
    for other in (late, repeated, threat, vip):
        assert other.urgency > base.urgency
    assert 0 <= base.urgency <= 100
    assert build_situation("你好").urgency == 0


def test_facts_from_arguments_entities_and_text():
    s = build_situation("订单4392018876512093用顺丰发的，怎么还没到")
    assert s.facts["order_id"] == "4392018876512093"
    assert s.facts["carrier"] == "顺丰速运"
    assert "order_id" not in s.missing
    given = build_situation("订单4392018876512093怎么还没到", facts={"order_id": "A-1"})
    assert given.facts["order_id"] == "A-1"
    via_entity = build_situation("怎么还没到", entities=[{"entity": "order_no", "value": "5566778899001"}])
    assert via_entity.facts["order_id"] == "5566778899001"
    phone = build_situation("我电话13912345678，快递怎么还没到")
    assert "order_id" not in phone.facts and "order_id" in phone.missing


def test_missing_facts_per_concern():
    assert build_situation("快递怎么还没到").missing == ("order_id",)
    assert build_situation("能便宜点吗").missing == ("product",)
    assert build_situation("转人工").missing == ()


def test_intent_sources():
    assert build_situation("啊啊啊", intent="complaint").intent_source == "given"
    ranked = build_situation("x", intent_ranking=[{"name": "refund_return", "confidence": 0.7},
                                                  {"name": "complaint", "confidence": 0.3}])
    assert ranked.intent == "refund_return" and ranked.intent_source == "ranking"
    assert ranked.concerns[:2] == ("refund_return", "complaint")
    assert build_situation("我要退货").intent_source == "cues"
    assert build_situation("你好，我的快递怎么还没到").intent == "delivery_delay"


def test_needs_person():
    assert build_situation("我要投诉").needs_person
    assert not build_situation("你好").needs_person
    assert build_situation("你好，气死我了！！").needs_person


def test_request_for_a_person_comes_after_the_substance():
    s = build_situation("转人工！快递五天了还没到")
    assert s.topic == "delivery_delay"
    assert "request_human" in s.concerns


def test_honorific_only_from_the_profile():
    assert build_situation("退货").address is None
    assert build_situation("退货", profile={"honorific": "女士", "surname": "李"}).address == "李女士"
    assert build_situation("退货", profile={"honorific": "先生"}).address == "先生"
    assert build_situation("退货", profile={"honorific": "老板"}).address is None
    assert build_situation("退货", profile={"honorific": "女士", "surname": "<b>"}).address == "女士"


def test_to_dict_is_json_safe():
    s = build_situation("快递怎么还没到", facts={"promised_by": datetime(2024, 6, 1, 18, 0), "days_late": 3, "odd": object()})
    data = json.loads(json.dumps(s.to_dict(), ensure_ascii=False))
    assert data["facts"]["promised_by"] == "2024-06-01T18:00:00"
    assert data["needs_person"] is True
    assert {"concerns", "mood", "mood_trend", "temperament", "urgency", "facts", "missing"} <= set(data)


@pytest.mark.parametrize("text", [None, "", " ", "啊" * 10_000, "😡🤬" * 300, "<script>alert(1)</script>", "/restart", 12345])
def test_garbage_never_raises(text):
    s = build_situation(text, history=[None, 3, "x" * 5000], entities=[None, {"entity": None}, "junk"],
                        facts=["not", "a", "dict"], profile="vip", intent_ranking=[{"name": 5}, None, "x"])
    assert s.mood in ("calm", "anxious", "angry", "abusive")
    json.dumps(s.to_dict(), ensure_ascii=False)


@pytest.mark.parametrize("days_late", [float("inf"), float("nan"), "5天", -3, 10**30, True])
def test_odd_days_late_never_raises(days_late):
    from assist.drafting.composer import compose

    s = build_situation("快递怎么还没到", facts={"order_id": "123456789012", "days_late": days_late})
    assert 2 <= len(compose(s)) <= 3


NO_SUCH_ORDER = {"order_lookup": "没查到这个号码的订单（也许是商品编号，请核对）"}


def test_a_number_no_order_matches_sent_without_a_word_of_an_order_is_the_goods_id():
    # A shop's item id pasted first, or with a question about the goods: not an order to chase.
    for text in ("618204473915", "618204473915 这款买三件有赠品吗"):
        facts = dict(NO_SUCH_ORDER, order_id="618204473915")
        entities = [{"entity": "order_id", "value": "618204473915"}]
        s = build_situation(text, intent="order_status", entities=entities, facts=facts)
        assert s.facts.get("product_code") == "618204473915" and "order_id" not in s.facts, text
        assert "order_lookup" not in s.facts and "order_status" not in s.concerns and s.intent != "order_status"
        assert "product_inquiry" in s.concerns


def test_an_unknown_number_said_to_be_an_order_stays_an_order_number():
    facts = dict(NO_SUCH_ORDER, order_id="618204473915")
    said = build_situation("我的订单618204473915到哪了", intent="order_status", facts=facts,
                           entities=[{"entity": "order_id", "value": "618204473915"}])
    assert said.facts["order_id"] == "618204473915" and said.facts.get("order_lookup") and "order_status" in said.concerns
    earlier = build_situation("618204473915", intent="order_status", facts=facts, history=["你好 我查一下快递"],
                              entities=[{"entity": "order_id", "value": "618204473915"}])
    assert earlier.facts["order_id"] == "618204473915"  # the order was named before the number
    found = build_situation("2023110188", intent="order_status", facts={"order_id": "2023110188", "status_zh": "运输中"},
                            entities=[{"entity": "order_id", "value": "2023110188"}])
    assert found.facts["order_id"] == "2023110188" and "order_status" in found.concerns


@pytest.mark.parametrize("text, goods", [
    ("上周买了3瓶洗发水用着头皮痒", "3瓶洗发水"),
    ("拆开那一箱纸巾看了下全是潮的", "一箱纸巾"),  # the goods end where the verb starts
    ("一件外套两个颜色都要", "一件外套"),
    ("说好的等两天结果一个来问的都没有", None),    # a count before a verb names no goods
    ("有一盒里面是空的", None),                      # nor before a place
])
def test_goods_named_by_count_stop_at_the_verb(text, goods):
    from assist.drafting.fact_reading import goods_named

    assert goods_named(text) == goods
