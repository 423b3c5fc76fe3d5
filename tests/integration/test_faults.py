"""The fault matrix on the real processes (issue 15): kill -9 and SIGSTOP of Rasa, the action server
and the console, the store read-only, Rasa slow past the console's timeout, the console killed
mid-push, the callback client refusing, the customer's socket dropped while the reply is sent.

Each fault runs with a fresh socket.io customer and a fresh callback customer and asserts: every
approved reply seen exactly once by each, no complaint without a case, no customer silent for more
than 10 s. The stack is this module's own (the faults are destructive) with short timeouts
(kefu_rasa/dev/faults.py: FAULT_ENV). bench/faults.py prints the same matrix as a table.
"""
from __future__ import annotations

import pytest

from kefu_rasa.dev.faults import FAULTS, SILENCE_LIMIT, run_fault, start_fault_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fault_inbox():
    from kefu_rasa.dev.callback_inbox import CallbackInbox

    inbox = CallbackInbox()
    yield inbox
    inbox.close()


@pytest.fixture(scope="module")
def fault_stack(trained_model, tmp_path_factory, fault_inbox):
    running = start_fault_stack(trained_model, tmp_path_factory.mktemp("faults"), fault_inbox)
    yield running
    # Rasa waits up to Sanic's 15 s grace for the test clients' abandoned long-polls; this stack's
    # files are thrown away, so it need not wait.
    running.stop(timeout=3)


@pytest.fixture(scope="module")
def fault_agent(fault_stack):
    from assist.store import SuggestionStore

    return SuggestionStore(fault_stack.store_url).agents.create_agent("fault-agent")


@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_reply_once_no_case_lost_nobody_silent(fault, fault_stack, fault_inbox, fault_agent):
    row = run_fault(fault, fault_stack, fault_inbox, fault_agent)
    assert row.approved >= 2
    assert (row.seen_once, row.duplicates_seen, row.lost) == (row.approved, 0, 0), row.line()
    assert row.cases_lost == 0, row.line()
    assert row.longest_silence <= SILENCE_LIMIT, row.line()
    if fault == "store read-only 5 s":
        # Approvals during the outage answer 503 store_unavailable (the agent tries again), and the
        # console logs a line per outage, not a traceback every 50 ms.
        assert any("503 store_unavailable" in note for note in row.notes), row.line()
        kilobytes = float(next(n for n in row.notes if "console log" in n).split("+")[1].split(" ")[0])
        assert kilobytes < 8, row.line()
    if fault == "action server SIGSTOP 9 s (hung)":
        # The late action adds nothing: no second holding message. Since issue 13 a new conversation starts
        # with our action_session_start (an open case keeps the bot paused in a new session); the hung action
        # server cannot run it, so Rasa's own fallback line comes first, then the follower's holding
        # message and the reply.
        assert "messages seen [3, 3]" in row.notes[-1], row.line()
    if fault == "Rasa SIGSTOP → approve → store read-only 5 s → Rasa resumed":
        assert row.dropped_by_id <= 2, row.line()  # the probe before the fix: 41 copies


def test_a_turns_answer_the_callback_client_missed_reaches_it_after_its_rasa_was_killed(fault_stack, fault_inbox, fault_agent):
    """The client refuses the turn's answers (the holding message among them), and Rasa is killed -9
    before its retries in memory get through. The Rasa server that comes back finds the messages kept
    in the store and posts them: the customer hears them, once each."""
    import requests

    from kefu_rasa.dev.fault_harness import COMPLAINTS, Harness
    from kefu_rasa.dev.servers import wait_until

    harness = Harness(fault_stack, fault_inbox, fault_agent)
    customer = harness.callback_customer()
    kept = harness.store.callback_posts
    try:
        fault_inbox.refuse(120)
        turn = harness.pool.submit(requests.post, f"{fault_stack.rasa_url}/webhooks/callback/webhook", timeout=60,
                                   json={"sender": customer.conversation_id, "message": COMPLAINTS[0]})
        assert turn.result(timeout=60).status_code == 200  # the turn is saved; its answers were refused
        assert wait_until(lambda: kept.pending([customer.conversation_id]) > 0, timeout=10)
        harness.kill("rasa")
        fault_inbox.refuse(0)
        harness.restart("rasa")
        assert wait_until(lambda: kept.pending([customer.conversation_id]) == 0, timeout=60)
        shown = fault_inbox.texts(customer.conversation_id)
        assert shown and harness.case_of(customer, timeout=10), shown  # its holding message, for the case it opened
        assert len(shown) == len(fault_inbox.raw_texts(customer.conversation_id))  # none posted twice, so none dropped
    finally:
        fault_inbox.refuse(0)
        harness.heal()
        harness.close()
