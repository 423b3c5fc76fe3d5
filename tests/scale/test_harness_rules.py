"""The scale-out harness's own rules, without servers: the routing of conversations to Rasa servers
(a consistent hash, as the production proxy's), how a case's transcript is judged, and the shoppers'
scripts."""
from __future__ import annotations

import random
from collections import Counter

from kefu_rasa.dev.scale_checks import case_problem
from kefu_rasa.dev.scale_cluster import route
from kefu_rasa.dev.scale_texts import CONCERNS, FOLLOW_UPS, conversation_script

SERVERS = ["http://127.0.0.1:5005", "http://127.0.0.1:5006"]
IDS = [f"conversation-{i}" for i in range(2000)]


def test_a_conversation_always_goes_to_the_same_server_and_fails_over_to_the_other():
    for conversation_id in IDS[:50]:
        order = route(conversation_id, SERVERS)
        assert order == route(conversation_id, list(SERVERS)) and sorted(order) == sorted(SERVERS)


def test_conversations_spread_over_both_servers():
    share = Counter(route(i, SERVERS)[0] for i in IDS)
    assert set(share) == set(SERVERS) and min(share.values()) > 0.3 * len(IDS)


def test_adding_a_server_moves_only_the_conversations_it_takes():
    three = SERVERS + ["http://127.0.0.1:5007"]
    moved = [i for i in IDS if route(i, SERVERS)[0] != route(i, three)[0]]
    assert all(route(i, three)[0] == three[2] for i in moved)  # none moves between the old two
    assert 0.15 * len(IDS) < len(moved) < 0.5 * len(IDS)


def test_one_server_is_the_only_route():
    assert route("anything", SERVERS[:1]) == SERVERS[:1]


def test_a_case_transcript_is_judged_against_what_the_customer_sent():
    sent = ["你好", "我要投诉", "人呢", "快点"]
    assert case_problem(["我要投诉", "人呢", "快点"], sent) == ""
    assert case_problem(["你好", "我要投诉", "人呢", "快点"], sent) == ""  # opened by the first message
    assert case_problem(["我要投诉", "快点", "人呢"], sent) == "out of order"
    assert case_problem(["我要投诉", "你好", "人呢", "快点"], sent) == "out of order"  # an earlier one joined late
    assert case_problem(["我要投诉", "我要投诉", "人呢", "快点"], sent) == "twice"
    assert case_problem(["我要投诉", "快点"], sent) == "missing"
    assert case_problem([], sent) == "missing"
    assert case_problem(["别的话"], sent) == "not sent"


def test_a_script_has_one_concern_no_repeated_text_and_the_length_asked():
    rng = random.Random(5)
    for number in range(200):
        script = conversation_script(rng, 10, number)
        assert len(script) == 10 == len(set(script))
        concerns = [t for t in script if any(t == c.format(order=str(2000000000 + number)) for c in CONCERNS)]
        assert len(concerns) == 1 and script.index(concerns[0]) <= 2
        assert all(t in FOLLOW_UPS for t in script[script.index(concerns[0]) + 1:])
