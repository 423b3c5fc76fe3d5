"""What the load's shoppers say: our own texts, mixed intents, a few words the bot answers first,
then a concern a person takes over, then the follow-ups of someone waiting.

Within one conversation no text repeats, so a text names its message (the checks rely on it).
"""
from __future__ import annotations

import random
from typing import List

# The bot answers these itself (greetings, product and order questions).
FIRST_WORDS = [
    "你好", "在吗？", "亲，在不在呀", "哈喽，有人吗",
    "这款羽绒服有没有黑色的L码", "这个保温杯能直接装开水吗", "请问这款耳机是降噪的吗",
    "帮我查一下订单发货没有", "我前天下的单，什么时候能发出来",
]
# A person takes these over: complaint, late parcel, refund, haggling, asking for a person.
CONCERNS = [
    "我要投诉！收到的杯子盖子是裂的，客服也一直不理人",
    "包裹在中转站躺了五天了，一点动静都没有，订单号 {order}",
    "衣服洗一次就掉色，我要退货退款",
    "老板，买三件能不能便宜二十块，诚心要",
    "别让机器人回复了，给我转人工客服",
    "快递说已签收，可我根本没收到，订单号 {order}，你们查一下",
    "尺码发错了，我要的是M你们发了XXL，申请退款",
    "你们这服务态度太差了，我要投诉到平台",
]
# Someone waiting for a person.
FOLLOW_UPS = [
    "还要等多久啊", "有人在处理吗？", "我下午要出门，麻烦快点", "照片我已经拍好了，发给谁",
    "订单是上周五下的", "能不能先给我个说法", "好的，我等你们回复", "都半天了还没人回",
    "今天能处理完吗", "我不想再等了", "麻烦看一下，谢谢", "顺便问下运费谁出",
    "是不是换个人来跟我说", "我等着呢，别忘了我",
]


def conversation_script(rng: random.Random, messages: int, number: int) -> List[str]:
    """`messages` texts for one shopper: 0–2 the bot answers, one concern, then follow-ups."""
    before = rng.randint(0, min(2, messages - 1))
    after = messages - before - 1
    if after > len(FOLLOW_UPS):
        raise ValueError(f"at most {len(FOLLOW_UPS) + 3} messages per conversation")
    order = str(2000000000 + number)
    concern = rng.choice(CONCERNS).format(order=order)
    return rng.sample(FIRST_WORDS, before) + [concern] + rng.sample(FOLLOW_UPS, after)
