"""A case follows the customer from topic to topic: the shop's cue words in a message move the case
to what the customer now talks about, even when NLU is unsure; a polite wish is not a grievance; a
threat to leave is heard. Conversations written for the tests (never evaluation text)."""
from __future__ import annotations

import pytest

from test_conversation_state import Shop


@pytest.fixture
def shop(tmp_path):
    return Shop(tmp_path)


def test_a_coupon_question_moves_a_goods_talk_to_the_price_though_nlu_is_unsure(shop):
    shop.says("这个保温杯有粉色的吗", "product_inquiry")
    shop.sends("有的亲，粉色现货")
    shop.says("那有没有券可以用", "price_haggle", 0.36)
    assert shop.state.primary == "price_haggle"


def test_a_goods_question_moves_a_parcel_talk_to_the_goods(shop):
    shop.says("我的快递到哪了", "order_status")
    shop.sends("亲，包裹已经在派送了")
    shop.says("对了这个被套的尺寸是多大", "product_inquiry", 0.55)
    assert shop.state.primary == "product_inquiry"
    shop.says("这款有几款颜色", "order_status", 0.4)  # NLU guesses the old topic; the words name the goods
    assert shop.state.primary == "product_inquiry"


def test_a_count_check_after_a_price_talk_is_about_the_order(shop):
    shop.says("老板能便宜点不", "price_haggle")
    shop.sends("亲这已经是活动价了哦")
    shop.says("帮我查一下我一共买了多少个杯子", "out_of_scope", 0.43)
    assert shop.state.primary == "order_status"


def test_a_polite_wish_before_shipping_is_not_a_complaint(shop):
    shop.says("这个花瓶是玻璃的吗", "product_inquiry")
    shop.sends("是的亲，高硼硅玻璃")
    shop.says("希望你们发货前帮我检查一下别有划痕", "complaint", 0.55)
    state = shop.state
    assert "complaint" not in state.concerns and state.primary == "product_inquiry"


def test_a_threat_to_leave_if_the_parcel_does_not_come_is_heard(shop):
    shop.says("快递怎么还没到啊", "delivery_delay")
    shop.sends("亲，我帮您查一下物流")
    shop.says("再不送我就退货了", "refund_return", 0.38)
    assert "leave" in shop.case()["situation"]["threats"]
    assert shop.state.primary == "delivery_delay"  # the return is what they threaten, not what they ask


def test_an_outburst_after_talk_of_the_parcel_is_about_the_parcel(shop):
    shop.says("你们搞什么鬼！", "nlu_fallback", 0.25, history=["快递怎么还没到", "都第五天了"])
    state = shop.state
    assert state.primary == "delivery_delay" and "complaint" in state.concerns
    assert state.mood in ("angry", "abusive")


def test_a_grievance_about_slow_delivery_adds_the_delay(shop):
    shop.says("我的快递到哪了", "order_status")
    shop.sends("亲，预计明天送达")
    shop.says("同城你们要五天才送到吗", "delivery_delay", 0.3)
    assert "delivery_delay" in shop.state.concerns


def test_money_back_on_a_missed_offer_is_about_the_price_not_a_return(shop):
    shop.says("你们这个满减活动怎么用", "price_haggle")
    shop.sends("亲，满99减10哦")
    shop.says("我刚才没凑单 那你返我10块钱呗", "refund_return", 0.45)
    state = shop.state
    assert state.primary == "price_haggle" and "refund_return" not in state.concerns


def test_a_coupon_plan_is_about_the_price(shop):
    shop.says("这个收纳盒有白色的吗", "product_inquiry")
    shop.sends("有的亲")
    shop.says("我先拍20个 领了3张10块的 再拍20个", "product_inquiry", 0.45)
    assert shop.state.primary == "price_haggle"


def test_a_delivery_date_promised_again_and_again_is_about_the_delay(shop):
    shop.says("我要投诉你们客服", "complaint")
    shop.sends("亲，您的包裹预计明天送达")
    shop.says("明天送到已经说了三遍了", "complaint", 0.5)
    assert "delivery_delay" in shop.state.concerns


def test_a_wish_after_a_price_talk_moves_to_the_goods_not_a_complaint(shop):
    shop.says("老板这个台灯能便宜点吗", "price_haggle")
    shop.sends("亲，已经是最低价了")
    shop.says("行吧 希望你们发货前帮我检查一下灯罩", "complaint", 0.52)
    state = shop.state
    assert state.primary == "product_inquiry" and "complaint" not in state.concerns


def test_a_quality_complaint_naming_after_sales_stays_a_complaint(shop):
    shop.says("你好", "greet")
    shop.sends("您好，请问有什么可以帮您")
    shop.says("买的苹果是烂的 你们还拒绝给我售后", "complaint", 0.58)
    state = shop.state
    assert state.primary == "complaint" and "refund_return" in state.concerns


def test_a_case_opened_on_a_threat_to_leave_is_about_the_parcel(shop):
    shop.says("快递到底还送不送 今天不到我就退了", "refund_return", 0.38)
    state = shop.state
    assert state.primary == "delivery_delay"
    assert "leave" in shop.case()["situation"]["threats"]


def test_a_wish_goes_back_to_the_goods_a_case_started_on(shop):
    shop.says("这款保温壶是304的吗", "product_inquiry")
    shop.sends("是的亲")
    shop.says("买两个能优惠点吗", "price_haggle")
    shop.sends("给您便宜5元哦")
    shop.says("麻烦发货前帮我检查一下壶盖", "complaint", 0.52)
    state = shop.state
    assert state.primary == "product_inquiry" and "complaint" not in state.concerns


def test_a_coupon_that_cannot_be_claimed_again_is_about_the_price(shop):
    shop.says("这套餐具是骨瓷的吗", "product_inquiry")
    shop.sends("是的亲")
    shop.says("那个5元的卷怎么不能再领了", "product_inquiry", 0.4)  # 卷: how shoppers often type 券
    assert shop.state.primary == "price_haggle"
