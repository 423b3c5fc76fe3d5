"""The web chat while Rasa cannot save the conversation (issue 20, trap 3): kefu's socket.io channel
refuses the message with a retryable `kefu_error`; the page keeps it (one bubble, one id), says so
calmly and sends it again until it is taken; the customer then sees one answer, and the tracker
holds the message once.

The tracker store is the stack's SQLite file, with its write lock held by another connection
(in WAL mode readers go on): Rasa reads the conversation, answers, and fails to save — the turn's
answer must then never reach the customer, or the retry would answer twice."""
from __future__ import annotations

import sqlite3
import time

import pytest
import requests

from console_pages import customer, eventually, say, texts

pytestmark = pytest.mark.slow


def test_a_message_refused_while_the_tracker_cannot_be_saved_is_sent_again_and_answered_once(stack, pages):
    shopper = customer(pages, stack)
    session = shopper.evaluate("kefuChat.sessionId")
    tracker_file = stack.env["KEFU_TRACKER_URL"][len("sqlite:///"):]
    writer = sqlite3.connect(tracker_file, isolation_level=None, timeout=30)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the tracker store's saves wait, then fail
        say(shopper, "你好")
        eventually(lambda: "自动重新发送" in shopper.text_content("#conn"), timeout=40)
        assert texts(shopper, ".bubble.bot .text") == []  # the answer of a turn that was not saved: never shown
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    eventually(lambda: texts(shopper, ".bubble.bot .text"), timeout=40)
    time.sleep(2)  # a second answer (a duplicate retry) would arrive by now
    answers = texts(shopper, ".bubble.bot .text")
    assert len(answers) == len(set(answers)) and texts(shopper, ".bubble.customer .text") == ["你好"]
    eventually(lambda: shopper.text_content("#conn") == "", timeout=10)
    tracker = requests.get(f"{stack.rasa_url}/conversations/{session}/tracker", headers=stack.rasa_auth(), timeout=20).json()
    assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == ["你好"]
    assert shopper.errors == []
