"""Photos in a case: drafts ask for one only where the customer's channel can send it (the web chat,
WeChat; not REST), never again once one came, and acknowledge one that arrives; the facts note it;
a message naming another conversation's photo (or a made-up id) gets no photo. Texts written for
these tests."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from assist.cases.messages import CustomerMessage, image_of
from assist.cases.service import CaseService
from assist.cases.state import state_of
from assist.store import SuggestionStore

FAULT = {"intent": {"name": "complaint", "confidence": 0.95}, "entities": [],
         "intent_ranking": [{"name": "complaint", "confidence": 0.95}]}
OTHER = {"intent": {"name": "out_of_scope", "confidence": 0.4}, "entities": [],
         "intent_ranking": [{"name": "out_of_scope", "confidence": 0.4}]}
BROKEN = "收到的台灯灯罩裂了一道缝，插上电也不亮"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


class Chat:
    def __init__(self, tmp_path, channel, conversation="c-photo"):
        self.store = SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}", image_dir=tmp_path / "images")
        self.service = CaseService(self.store, find_order=lambda _: None, acceptance=lambda: None)
        self.channel, self.conversation, self.count = channel, conversation, 0

    def says(self, text, parse=FAULT, image_id=None):
        self.count += 1
        return self.service.on_customer_message(
            CustomerMessage(self.conversation, text, f"m{self.count}", self.channel, parse, image_id=image_id),
            hand_over=self.count == 1)

    def photo(self, conversation=None):
        return self.store.images.save(conversation or self.conversation, png(), "image/png", 20, 10)["id"]

    def case(self):
        return self.store.cases.get_case(self.store.cases.open_case_for(self.conversation)["id"])

    @property
    def drafts(self):
        return [d["text"] for d in self.case()["drafts"]]


def asks_for_photo(drafts):
    return [d for d in drafts if "拍张照片" in d or "拍个照" in d]


@pytest.mark.parametrize("channel", ["socketio", "wechat"])
def test_a_channel_that_sends_photos_is_asked_for_one(tmp_path, channel):
    chat = Chat(tmp_path, channel)
    chat.says(BROKEN)
    assert asks_for_photo(chat.drafts), chat.drafts


def test_rest_is_never_asked_for_a_photo(tmp_path):
    chat = Chat(tmp_path, "rest")
    chat.says(BROKEN)
    chat.says("灯罩是玻璃的，裂口挺长的")
    assert chat.drafts and not asks_for_photo(chat.drafts), chat.drafts


def test_a_photo_is_acknowledged_noted_and_never_asked_for_again(tmp_path):
    chat = Chat(tmp_path, "socketio")
    chat.says(BROKEN)
    chat.says("[图片]", OTHER, image_id=chat.photo())
    case = chat.case()
    assert case["messages"][-1]["image_id"] and case["messages"][-1]["text"] == "[图片]"
    assert all("照片收到了" in d for d in chat.drafts), chat.drafts
    state = state_of(case)
    assert state.last_act == "answers" and state.facts["photo"] == "顾客已发图片"
    chat.says("你们什么时候能给我处理", FAULT)
    chat.says("我是真的很着急，灯罩裂了根本没法用", FAULT)
    assert chat.drafts and not asks_for_photo(chat.drafts), chat.drafts


def test_a_photo_answers_when_the_agent_asked_for_it(tmp_path):
    chat = Chat(tmp_path, "socketio")
    chat.says(BROKEN)
    case = chat.case()
    chat.service.decide(case["id"], "xiaoli", "edit", text="麻烦您拍张照片发我看一下，我帮您登记", batch=case["batch"])
    assert state_of(chat.case()).waiting_for == "photo"
    chat.says("[图片]", OTHER, image_id=chat.photo())
    assert state_of(chat.case()).waiting_for is None
    assert any("照片收到了" in d for d in chat.drafts)


def test_another_conversations_photo_is_not_taken(tmp_path):
    chat = Chat(tmp_path, "socketio")
    chat.says(BROKEN)
    chat.says("[图片]", OTHER, image_id=chat.photo(conversation="someone-else"))
    chat.says("[图片]", OTHER, image_id="made-up-id")
    assert not any(m["image_id"] for m in chat.case()["messages"])
    assert "photo" not in state_of(chat.case()).facts


def test_the_photo_id_comes_from_the_message_metadata_only_as_text():
    assert image_of({"kefu_image": {"id": "abc_DEF-1"}}) == "abc_DEF-1"
    for metadata in (None, {}, {"kefu_image": "abc"}, {"kefu_image": {"id": 5}}, {"kefu_image": {"id": "x" * 65}}, []):
        assert image_of(metadata) is None


def test_a_photo_as_the_first_message_opens_a_case_the_bot_cannot_look_at_it(tmp_path):
    chat = Chat(tmp_path, "socketio")
    image_id = chat.photo()
    opened = chat.service.on_customer_message(CustomerMessage(chat.conversation, "[图片]", "m1", "socketio", OTHER,
                                                              image_id=image_id), hand_over=False)
    assert opened.kind == "opened" and opened.holding_text
    assert chat.case()["messages"][0]["image_id"] == image_id
