"""The conversation state and the dialogue acts: a case read as a conversation, not message by
message. Conversations here are written for the tests (never evaluation text)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from assist.cases.acts import read_shop
from assist.cases.messages import CustomerMessage
from assist.cases.service import CaseService
from assist.cases.state import Asked, ConversationState, after_shop, state_of
from assist.integrations.orders import Order
from assist.store import SuggestionStore

LATE = Order("1234567890", "in_transit", product="羽绒服", carrier="中通", last_location="杭州转运中心",
             promised_by=datetime.now() - timedelta(days=3))


class Shop:
    """A case service on a temporary store, with a tiny order store; says and sends in turn."""

    def __init__(self, tmp_path, conversation="c1"):
        self.store = SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")
        self.service = CaseService(self.store, find_order={LATE.order_id: LATE}.get, acceptance=lambda: None)
        self.conversation, self.count = conversation, 0

    def says(self, text, intent, confidence=0.9, entities=(), history=()):
        """`history`: what the customer said to the bot before the case (read when it opens)."""
        self.count += 1
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": list(entities),
                 "intent_ranking": [{"name": intent, "confidence": confidence}]}
        return self.service.on_customer_message(
            CustomerMessage(self.conversation, text, f"m{self.count}", "socketio", parse, history=history),
            hand_over=self.count == 1)

    def sends(self, text):
        case = self.case()
        self.service.decide(case["id"], "xiaowang", "edit", text=text, batch=case["batch"])

    def case(self):
        return self.store.cases.get_case(self.store.cases.open_case_for(self.conversation)["id"])

    @property
    def state(self):
        return state_of(self.case())

    @property
    def drafts(self):
        return [d["text"] for d in self.case()["drafts"]]


@pytest.fixture
def shop(tmp_path):
    return Shop(tmp_path)


def order(value):
    return [{"entity": "order_id", "value": value}]


def test_a_bare_number_answers_the_question_we_asked(shop):
    shop.says("快递一个星期了还没到", "delivery_delay")
    shop.sends("麻烦您提供一下订单号，我帮您查一下")
    assert shop.state.waiting_for == "order_id"
    shop.says("1234567890", "goodbye", 0.51, order("1234567890"))  # NLU misreads a bare number
    state = shop.state
    assert state.last_act == "answers" and state.asked.answered and state.primary == "delivery_delay"
    assert state.facts["carrier"] == "中通"
    assert "订单号收到了" in shop.drafts[0] or "1234567890" in shop.drafts[0]
    assert not any("订单号" in d and ("提供" in d or "发一下" in d) for d in shop.drafts)


def test_a_masked_number_counts_as_given_and_is_never_asked_for_again(shop):
    shop.says("我要退货", "refund_return")
    shop.sends("您好，请提供一下订单号")
    shop.says("[数字x]", "out_of_scope", 0.3)
    assert shop.state.facts["order_id"] == "[数字x]" and shop.state.last_act == "answers"
    shop.says("东西质量太差了", "complaint")
    assert not any("订单号" in d and ("发" in d or "提供" in d) for d in shop.drafts)


def test_the_primary_concern_sticks_through_greetings_and_pings(shop):
    shop.says("你们卖的是假货吧，太过分了", "complaint")
    shop.says("在吗？", "greet")
    shop.says("你好", "greet")
    state = shop.state
    assert state.primary == "complaint" and state.concerns[0] == "complaint"
    assert shop.case()["concerns"][0] == "complaint" and shop.case()["mood"] != "calm"


def test_a_new_problem_adds_a_concern_and_becomes_primary(shop):
    shop.says("快递怎么还没到", "delivery_delay")
    shop.says("东西收到了但是是坏的，我要退款", "refund_return")
    state = shop.state
    assert state.last_act == "new_problem" and state.primary == "refund_return"
    assert set(state.concerns) >= {"delivery_delay", "refund_return"}


def test_an_agents_correction_sticks_until_the_customer_raises_another_problem(shop):
    shop.says("这个东西怎么回事", "complaint", 0.5)
    opened = shop.case()
    shop.service.correct(opened["id"], "xiaowang", "refund_return")
    shop.says("在吗", "greet")
    assert shop.state.primary == "refund_return" and shop.case()["concerns"][0] == "refund_return"


def test_irritation_without_swear_words_raises_the_mood_and_thanks_calm_it(shop):
    shop.says("我的快递到哪了，一直没更新", "delivery_delay")
    first = shop.state.mood
    shop.says("在吗", "greet")
    assert shop.state.mood in ("anxious", "angry") and shop.state.last_act == "pushes"
    shop.says("到底什么时候能到？？", "delivery_delay")
    assert shop.state.mood == "angry" and shop.state.mood_trend in ("rising", "steady")
    assert "pushes" in shop.state.irritation
    shop.sends("实在抱歉，已经帮您催了快递，今天下午5点前给您回复")
    shop.says("好的谢谢", "thanks")
    assert shop.state.mood != "angry" and shop.state.mood_trend == "falling"
    assert first in ("calm", "anxious")


def test_abuse_stays_on_the_case(shop):
    shop.says("你们这群骗子，垃圾店", "complaint")
    shop.says("好的", "affirm")
    assert shop.state.mood == "abusive"


def test_what_the_agent_did_and_promised_is_kept_and_drafted_from(shop):
    shop.says("快递五天了还没到", "delivery_delay")
    shop.sends("我已经帮您联系快递加急了，今天下午3点前给您回复")
    state = shop.state
    assert "chased_courier" in state.done and state.promised and state.agent_turns == 1
    shop.says("在吗", "greet")
    assert shop.state.last_act == "pushes"
    assert any("已经帮您催过快递了" in d for d in shop.drafts)
    assert not any("祝您购物愉快" in d for d in shop.drafts)  # the work is still open


def test_a_rules_question_inside_a_case_is_answered_from_the_policy_first(shop):
    shop.says("东西有问题，我要退货", "refund_return")
    shop.says("退款多久能到账啊", "refund_return")
    state, case = shop.state, shop.case()
    assert state.last_act == "new_question" and state.primary == "refund_return"
    assert case["drafts"][0]["variant_id"] == "faq.refund_arrival" and "工作日" in case["drafts"][0]["text"]
    assert state.open_questions == ("refund_arrival",)
    shop.sends("退款审核通过后1-3个工作日到账哦")
    assert shop.state.open_questions == ()


def test_please_wait_keeps_the_question_open(shop):
    shop.says("买的衣服尺码不对，怎么换货？", "refund_return")
    shop.sends("您稍等，我查一下")
    assert shop.state.open_questions


def test_an_unsure_reading_puts_a_short_safe_reply_first(shop):
    shop.says("东西坏了", "complaint")
    shop.says("那个啥", "out_of_scope", 0.2)
    case = shop.case()
    assert shop.state.unclear and case["drafts"][0]["variant_id"].startswith("turn.unsure.")
    assert len(case["drafts"][0]["text"]) <= 40 and case["drafts"][0]["reason"].startswith("读得不准")


def test_no_to_a_proposal_is_not_a_cancellation(shop):
    shop.says("东西坏了我要投诉", "complaint")
    shop.sends("给您补偿10元优惠券，您看可以吗？")
    shop.says("不行", "deny", 0.8)
    assert shop.case()["state"] == "open" and shop.state.last_act == "declines"


def test_cancelling_before_anyone_answered_closes_the_case(shop):
    shop.says("我要找人工", "request_human")
    outcome = shop.says("算了不用了", "deny")
    assert outcome.kind == "cancelled"


@pytest.mark.parametrize("text", ["我不想再等了", "不想等了", "算了不等了", "等不了了"])
def test_not_wanting_to_wait_any_longer_pushes_for_the_person_and_cancels_nothing(shop, text):
    # The NLU reads 不想再等了 as a short deny (as 不用了): cancelling would drop the customer who wants the person most.
    shop.says("快递说已签收，可我根本没收到", "delivery_delay")
    outcome = shop.says(text, "deny", 0.5)
    assert outcome.kind != "cancelled" and shop.case()["state"] == "open" and shop.state.last_act == "pushes"


def test_a_grudging_yes_is_not_met_with_cheer(shop):
    shop.says("快递怎么还不到", "delivery_delay")
    shop.sends("已经帮您催了快递，预计明天送到，您看可以吗？")
    shop.says("好吧", "affirm", 0.7)
    assert shop.state.last_act == "acknowledges" and shop.state.reluctant
    assert not any(d.startswith(("好嘞", "好的好的")) for d in shop.drafts)
    assert any("理解" in d or "尽量" in d for d in shop.drafts)


def test_the_drafts_never_repeat_what_an_agent_already_sent(shop):
    shop.says("快递还没到", "delivery_delay")
    sent = shop.drafts[0]
    shop.sends(sent)
    shop.says("哦", "affirm", 0.6)
    assert sent not in shop.drafts


def test_no_more_to_anything_else_closes_the_conversation(shop):
    shop.says("衣服有个洞，我要退货", "refund_return")
    shop.sends("已经帮您提交退款了，您还有其他需要吗？")
    assert shop.state.waiting_for == "more"
    shop.says("不需要了", "deny", 0.7)
    assert shop.state.last_act == "closes" and shop.state.waiting_for is None
    assert shop.case()["state"] == "open"  # an agent still sends the goodbye


def test_a_lone_mask_does_not_move_the_case_to_another_concern(shop):
    shop.says("快递五天了还没到", "delivery_delay")
    shop.sends("麻烦提供一下您的收货地址，我帮您查")
    shop.says("[地址x]", "refund_return", 0.45)
    assert shop.state.primary == "delivery_delay" and shop.state.last_act == "answers"


def test_progress_speaks_of_the_latest_thing_done_and_only_when_something_was(shop):
    shop.says("说好的退款呢，东西早寄回去了", "refund_return")
    shop.says("在吗", "greet")
    assert not any("一直在跟进" in d and "一并跟进" in d for d in shop.drafts)
    shop.sends("我联系快递确认过了，包裹已经签收，已经帮您提交退款了")
    shop.says("在吗", "greet")
    assert any("退款已经帮您提交了" in d for d in shop.drafts)
    assert not any("催过快递" in d for d in shop.drafts)


def test_goods_named_by_count_are_not_asked_for_again(shop):
    shop.says("我要买8盒绿茶能便宜点不", "price_haggle")
    assert "product" not in shop.case()["situation"]["missing"]
    assert not any("哪一款" in d or "哪款" in d for d in shop.drafts)
    shop.says("有什么活动吗", "price_haggle")
    assert not any("哪一款" in d or "哪款" in d for d in shop.drafts)


def test_a_price_question_in_a_delivery_case_moves_the_case_to_price(shop):
    shop.says("快递三天了还没到", "delivery_delay")
    shop.says("那有没有活动价呀", "price_haggle", 0.95)
    state = shop.state
    assert state.last_act == "new_question" and state.primary == "price_haggle"
    assert "delivery_delay" in state.concerns


def test_the_drafts_keep_to_the_time_an_agent_promised(shop):
    shop.says("快递五天了还没到", "delivery_delay")
    shop.sends("我已经帮您联系快递加急了，今天下午5点前给您回复")
    shop.says("在吗", "greet")
    timed = [d for d in shop.drafts if "小时内" in d or "5点前" in d]
    assert timed and all("今天下午5点前" in d for d in timed)


def test_an_offer_or_a_plan_is_not_claimed_as_done(shop):
    shop.says("毛巾洗一次就掉一堆毛", "complaint")
    shop.sends("剩下的寄回来，收到后给您补发")
    assert "resent" in shop.state.offered and "resent" not in shop.state.done
    shop.says("哦那我寄回去", "refund_return")
    assert not any("已经给您安排" in d for d in shop.drafts)
    shop.sends("已经给您补发了，单号稍后发您")
    assert "resent" in shop.state.done and "resent" not in shop.state.offered


def test_an_order_the_agent_has_looked_up_is_not_asked_for(shop):
    shop.says("东西还没到", "delivery_delay")
    shop.sends("您的订单已经到达北京转运中心了，明天派送")
    shop.says("能不能快点", "delivery_delay")
    assert not any("订单号" in d for d in shop.drafts)


def test_what_we_still_wait_for_is_asked_once_more(shop):
    shop.says("毛巾质量太差了", "complaint")
    shop.sends("麻烦您拍张照片发我看一下")
    shop.says("洗完还是掉毛", "complaint")
    assert shop.state.waiting_for == "photo"
    assert any("照片" in d for d in shop.drafts[:2])


def test_a_count_is_answered_by_a_number_only(shop):
    shop.says("毛巾质量太差了", "complaint")
    shop.sends("亲洗了几条呢")
    shop.says("擦脸也不吸水", "complaint")
    assert shop.state.waiting_for == "count"
    shop.says("洗了三条了", "complaint")
    assert shop.state.waiting_for is None and shop.state.last_act == "answers"


def test_a_correction_is_not_a_refusal(shop):
    shop.says("毛巾质量太差了", "complaint")
    shop.sends("给您补偿5元可以吗")
    shop.says("不是第五条", "deny", 0.6)
    assert shop.state.last_act != "declines"


def test_an_opening_question_is_answered_without_an_apology(shop):
    shop.says("大概哪天能送到", "delivery_delay", 0.8)
    assert not any("抱歉" in d or "对不起" in d for d in shop.drafts)
    assert any("订单号" in d for d in shop.drafts)


def test_drafts_the_agent_already_saw_go_last_when_the_customer_says_more(shop):
    shop.says("快递怎么还不到", "delivery_delay")
    shop.sends("已经帮您催了，请耐心等待")
    shop.says("在吗", "greet")
    first = shop.drafts
    shop.says("在不在", "greet")
    assert shop.drafts[0] not in first and "好几次" in shop.drafts[0]  # says so, and offers a step


@pytest.mark.parametrize("text, nlu, primary", [
    ("大概哪天能送到", "delivery_delay", "order_status"),       # a question, nothing late yet
    ("这款有大号的吗", "complaint", "product_inquiry"),       # NLU's complaint, no complaint in the words
    ("有没有实惠点的", "complaint", "price_haggle"),           # the words say price
    ("快递一个星期了还没到", "delivery_delay", "delivery_delay"),
    ("东西碎了", "complaint", "complaint"),
    ("你们这服务太差了", "complaint", "complaint"),
])
def test_a_concern_is_believed_only_with_a_sign_of_it_in_the_words(shop, text, nlu, primary):
    shop.says(text, nlu, 1.0)
    assert shop.state.primary == primary


def test_a_case_opened_on_a_question_moves_to_the_problem_when_one_comes(shop):
    shop.says("这款有大号的吗", "complaint", 1.0)
    assert shop.state.primary == "product_inquiry"
    assert not any("抱歉" in d or "对不起" in d for d in shop.drafts)
    shop.says("上次买的大号穿一次就开线了，质量太差", "complaint", 0.95)
    assert shop.state.primary == "complaint"


def test_a_request_is_answered_by_doing_it(shop):
    shop.says("快递五天了还没到", "delivery_delay")
    shop.sends("已经帮您催了快递")
    shop.says("不等了你直接给我退款吧", "refund_return", 0.9)
    state = shop.state
    assert state.last_act == "requests" and state.primary == "refund_return"
    assert "申请退款" in shop.drafts[0]


def test_a_plan_on_the_table_is_restated_not_checked_again(shop):
    shop.says("毛巾洗一次就掉一堆毛", "complaint")
    shop.sends("剩下的毛巾寄回来给您补发")
    shop.says("那我要怎么弄", "out_of_scope", 0.3)
    assert "按刚才说的，我们会给您补发" in shop.drafts[0]


def test_an_angry_customer_is_not_met_with_a_bare_hold(shop):
    shop.says("快递五天了还没到，什么破快递", "delivery_delay")
    shop.says("气死我了", "out_of_scope", 0.3)
    assert shop.state.mood in ("angry", "abusive")
    assert not shop.drafts[0].startswith(("您说的我看一下", "我看一下您说的情况"))


def test_a_sure_question_about_the_goods_moves_a_calm_case_to_it(shop):
    shop.says("我要找人工", "request_human", 0.95)
    shop.says("包裹现在走到哪一步了呀", "order_status", 0.95)
    assert shop.state.primary == "order_status"


def test_a_price_talk_that_moves_on_to_the_goods_is_about_the_goods(shop):
    shop.says("这个能便宜点吗", "price_haggle", 0.9)
    assert shop.state.primary == "price_haggle"
    shop.says("这件是羊毛还是腈纶的", "product_inquiry", 0.8)  # a choice question, no question mark
    assert shop.state.primary == "product_inquiry"


def test_an_unsure_side_question_leaves_a_price_talk_alone(shop):
    shop.says("这个能便宜点吗", "price_haggle", 0.9)
    shop.says("这件是羊毛还是腈纶的", "product_inquiry", 0.5)
    assert shop.state.primary == "price_haggle"


def test_after_a_price_talk_a_word_about_the_shipping_gets_no_discount_hunt(shop):
    shop.says("这个能便宜点吗", "price_haggle", 0.9)
    shop.sends("亲，现在下单可以领5元券哦")
    shop.says("套餐里就是这三样茶叶各一百克", "complaint", 0.35)
    # The set's contents are the goods' business (cue word 套餐里): the case moves there, no discount hunt.
    assert shop.state.primary == "product_inquiry" and not any("优惠" in d for d in shop.drafts), shop.drafts
    shop.says("满减券能叠加用不", "price_haggle", 0.42)  # a coupon is a price word: the price talk is back
    assert shop.state.primary == "price_haggle"


def test_an_impurity_the_customer_cannot_accept_is_a_complaint_not_a_question(shop):
    shop.says("你好，我买的那个枸杞", "product_inquiry", 0.8)
    shop.says("泡出来全是杂质，这让我怎么喝呢，真的不能接受", "complaint", 0.75)
    assert shop.state.primary == "complaint" and shop.state.mood != "calm"


def test_a_number_that_matches_no_order_is_said_to_match_nothing(shop):
    shop.says("我的订单612345098765怎么还没发货", "order_status", 0.8, order("612345098765"))
    facts = shop.case()["conversation"]["facts"]
    assert facts["order_id"] == "612345098765" and "没查到" in facts["order_lookup"]
    shop.says(f"订单号是{LATE.order_id}", "order_status", 0.9, order(LATE.order_id))  # the real one: its facts, no warning left
    facts = shop.case()["conversation"]["facts"]
    assert facts["order_id"] == LATE.order_id and facts.get("status") and "order_lookup" not in facts


def test_a_number_no_order_matches_sent_alone_is_read_as_the_goods(shop):
    # A shop's item id pasted as the first message: the lookup finds nothing and no word names an order.
    shop.says("627310845592", "order_status", 0.6, order("627310845592"))
    case = shop.case()
    facts = case["conversation"]["facts"]
    assert facts.get("product_code") == "627310845592" and "order_id" not in facts and "order_lookup" not in facts
    assert "order_status" not in case["conversation"]["concerns"]
    assert not any("快递" in d["text"] or "物流" in d["text"] for d in case["drafts"])
    shop.says("627310845592 这款买三件有没有优惠", "order_status", 0.4, order("627310845592"))  # the id again, with a question
    case = shop.case()
    assert "order_status" not in case["conversation"]["concerns"]
    assert not any("包裹" in d["text"] or "快递" in d["text"] or "订单号" in d["text"] for d in case["drafts"])


def test_a_time_or_a_count_is_no_order_number():
    from assist.cases.acts import masked_facts
    assert masked_facts("我今天[数字x]点[数字x]分钟下的单", None) == {}
    assert masked_facts("[数字x]", "order_id") == {"order_id": "[数字x]"}
    from assist.drafting.first_line import masked_number, order_number
    # the bot asked for the order number; the customer says when they ordered instead
    assert order_number("我今天[数字x]点[数字x]分下的单，还没送到", asked=True) is None
    assert masked_number("下午[数字x]点下的单") is None and masked_number("订单号[订单x]") == "[订单x]"
    assert order_number("[数字x]", asked=True) == "[数字x]"


def test_before_buying_a_long_number_is_the_goods_not_an_order():
    from assist.drafting.situation import build_situation
    assert "order_id" not in build_situation("627310845592这款拿4件能便宜点不", intent="price_haggle").facts
    assert build_situation("订单627310845592还没发货", intent="delivery_delay").facts["order_id"] == "627310845592"


def test_a_question_about_when_to_apply_is_not_a_request(shop):
    shop.says("东西有问题我要退", "refund_return")
    shop.says("什么时候申请退款", "refund_return", 0.9)
    assert shop.state.last_act != "requests"


def test_the_same_conversation_gives_the_same_state_every_time(tmp_path):
    def run(folder):
        folder.mkdir()
        shop = Shop(folder)
        shop.says("订单1234567890到现在还没到", "delivery_delay", 0.9, order("1234567890"))
        shop.sends("抱歉，已经帮您催了，4小时内回复您")
        shop.says("到底什么时候到？？", "delivery_delay")
        shop.says("退款多久到账", "refund_return")
        return shop.state.to_dict(), shop.drafts

    assert run(tmp_path / "a") == run(tmp_path / "b")


def test_the_state_round_trips_through_json():
    state = after_shop(ConversationState(primary="complaint", concerns=("complaint",), customer_turns=1),
                       read_shop("麻烦您拍张照片发给我，我帮您登记"), "agent")
    assert state.asked == Asked("photo", "agent") and "recorded" in state.done
    assert ConversationState.from_dict(state.to_dict()) == state
    assert state.to_dict()["stage"] == "in_progress"


@pytest.mark.parametrize("text, asks, did", [
    ("麻烦您提供一下订单号，我帮您查询", "order_id", {"checking"}),
    ("请您拍张照片发给我看一下", "photo", {"checking"}),
    ("已经为您提交退款申请了，1-3个工作日到账", None, {"refund_submitted"}),
    ("您看这样处理可以吗？", "confirm", set()),
    ("好的，我这边帮您催一下快递", None, {"chased_courier"}),
    ("请问您是想退货还是换货呢", "choice", set()),
    ("亲你那边还剩几盒呢", "count", set()),
    ("优惠券在店铺首页", None, set()),                       # naming a coupon gives none
    ("给您发了一张5元优惠券，下单可用", None, {"coupon_offered"}),
    ("剩下的毛巾寄回来给您补发", None, set()),              # a plan: the customer sends first
    ("您还有其他需要吗", "more", set()),
])
def test_what_the_shop_asked_and_did(text, asks, did):
    reading = read_shop(text)
    assert reading.asks == asks and set(reading.did) == did


def test_offers_and_what_the_agent_has_in_hand():
    assert read_shop("剩下的毛巾寄回来给您补发").offered == ("resent",)
    assert read_shop("可以给您补发一个").offered == ("resent",)
    assert "order_id" in read_shop("您的订单已经到达北京转运中心").shows


def test_the_shop_says_only_deeds_that_speak_to_the_concern_now(shop):
    shop.says("快递五天了还没到", "delivery_delay")
    shop.sends("已经帮您催了快递")
    shop.says("不等了，你直接给我退款吧", "refund_return", 0.95)
    assert shop.state.primary == "refund_return"
    assert not any("催过快递" in d for d in shop.drafts)


def test_every_deed_says_which_concerns_it_speaks_to():
    from assist.shop.acts import load_acts
    from assist.shop.intents import PERSON_CONCERNS
    acts = load_acts()
    assert set(acts.did_for) == set(acts.did)
    assert all(set(concerns) <= set(PERSON_CONCERNS) | {"order_status", "product_inquiry"} for concerns in acts.did_for.values())


def test_every_word_the_panel_needs_has_a_label():
    from assist.shop.acts import ASKABLE_FACTS, load_acts
    from assist.shop.labels import LABELS
    from assist.shop.policy import load_policy
    assert {f.id for f in load_policy().faq} <= set(LABELS["questions"])
    assert set(ASKABLE_FACTS) <= set(LABELS["asked"])
    assert set(load_acts().did) <= set(LABELS["done"])
    from assist.cases.state import ConversationState
    assert {"pushes", "repeats", "？？", "waited"} <= set(LABELS["irritation"])
    assert ConversationState().stage in LABELS["stages"]


def test_an_outburst_nothing_places_opens_a_complaint_and_keeps_it(shop):
    shop.says("简直是扯淡", "nlu_fallback", 0.25)
    state = shop.state
    assert state.primary == "complaint" and state.mood == "angry"
    shop.says("明明今天能到偏要绕一圈", "out_of_scope", 0.57)  # the grievance, in words NLU cannot place
    # ... names the delivery (绕一圈): the case is about the parcel now, the complaint stays with it.
    state = shop.state
    assert state.primary == "delivery_delay" and "complaint" in state.concerns
    assert "out_of_scope" not in shop.case()["concerns"]


def test_an_item_id_inside_a_goods_question_gets_no_parcel_reply(shop):
    shop.says("这款洗衣液有没有大桶装的", "price_haggle", 0.34)
    shop.says("618877120934 买两箱洗衣液会多送赠品吗", "order_status", 0.38, order("618877120934"))
    case = shop.case()
    assert case["conversation"]["facts"].get("product_code") == "618877120934"
    assert not any("包裹" in d["text"] or "订单号" in d["text"] for d in case["drafts"]), [d["text"] for d in case["drafts"]]


def test_after_a_price_talk_the_customer_who_ordered_is_thanked_not_offered_coupons(shop):
    shop.says("这个保温杯买两个能便宜点吗", "price_haggle", 0.9)
    shop.sends("亲，两个一起买可以给您减5元哦")
    shop.says("好的 下单了", "affirm", 0.6)
    case = shop.case()
    assert "ordered" in shop.state.done and shop.state.last_act == "informs"
    top = case["drafts"][0]["text"]
    assert "谢谢" in top and "发货" in top and "优惠" not in top, top
    assert not shop.state.unclear
    shop.says("地址没问题吧", "order_status", 0.5)  # a later question: no discount hunt any more
    assert not any("优惠" in d["text"] or "券" in d["text"] for d in shop.case()["drafts"])


def test_a_photo_taken_in_an_after_sales_case_is_no_order(shop):
    shop.says("杯子收到就是裂的", "complaint", 0.9)
    shop.sends("麻烦您拍张照片给我看看")
    shop.says("拍了", "affirm", 0.5)
    assert "ordered" not in shop.state.done


def test_a_guess_without_its_signs_falls_to_the_goods_when_the_words_are_about_the_goods(shop):
    # NLU's unsure delivery guess for a cart question: the words speak of the goods, not of a parcel
    shop.says("昨天加进购物车的那双鞋今天下架了吗", "delivery_delay", 0.32)
    assert shop.state.primary == "product_inquiry"
    assert not any("包裹" in d["text"] or "订单号" in d["text"] for d in shop.case()["drafts"])
