"""kefu_rasa/repeated_messages.py without servers: which earlier turn a repeated message id finds, and
what a REST client is answered from it (the whole flow on the real Rasa server: test_bot_rest.py)."""
from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from kefu_rasa.repeated_messages import RECENT_EVENTS, earlier_answers


def turn(message_id, text, *answers):
    return [UserUttered(text, message_id=message_id), ActionExecuted("utter_x"),
            *[BotUttered(a, data={"buttons": None}) for a in answers], ActionExecuted("action_listen")]


def test_the_answers_of_the_turn_with_that_id_and_only_those():
    events = turn("m1", "在吗", "亲，在的～") + turn("m2", "耳机降噪吗", "支持主动降噪哦", "还有别的想了解吗？") + turn("m3", "好的")
    assert earlier_answers(events, "m2", "c1") == [{"recipient_id": "c1", "text": "支持主动降噪哦"},
                                                   {"recipient_id": "c1", "text": "还有别的想了解吗？"}]
    assert earlier_answers(events, "m3", "c1") == []  # in the tracker, answered with nothing: still a repeat


def test_a_new_id_or_none_is_a_new_turn():
    events = turn("m1", "在吗", "亲，在的～")
    assert earlier_answers(events, "m9", "c1") is None and earlier_answers(events, None, "c1") is None


def test_only_recent_events_are_searched():
    events = turn("old", "很早以前的一句", "嗯") + [ActionExecuted("action_listen")] * RECENT_EVENTS
    assert earlier_answers(events, "old", "c1") is None
