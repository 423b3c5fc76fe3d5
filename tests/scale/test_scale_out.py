"""The scale-out proof (issue 21): two Rasa servers, two action servers and two consoles sharing
PostgreSQL and Redis, each conversation routed to one Rasa server by a consistent hash of its id.
Shoppers (Rasa's callback channel) send their messages one after another; agents on both consoles
approve at once. Afterwards (kefu_rasa/dev/scale_checks.py): every customer message in exactly one
tracker, in order; one case per conversation, holding its messages in order; every approved text
seen exactly once by its customer; a first answer to every message that opened a case; everything
finished (no deadlock); the two consoles' queues agree.

The short run (20 × 5, one fault) is part of `make test`; the full one (200 × 10, then each fault
in its own run) is marked `scale`: `make test-scale`; `--scale-load 30x6` makes each full run smaller.
"""
from __future__ import annotations

import pytest

from kefu_rasa.dev.scale import close_run, run_load
from kefu_rasa.dev.scale_load import make_conversations
from kefu_rasa.dev.scale_checks import check_all, refused_while_down
from kefu_rasa.dev.scale_faults import FAULTS

pytestmark = pytest.mark.slow

SHORT = (20, 5)


@pytest.fixture
def closing(cluster):
    """Runs the test's load; afterwards its cases are resolved, so the next run's queue starts empty."""
    runs = []

    def load(*args, **kwargs):
        runs.append(run_load(cluster, *args, **kwargs))
        return runs[-1]

    yield load
    for outcome in runs:
        close_run(cluster, outcome)


def assert_all_hold(problems: dict, outcome) -> None:
    failing = {name: found for name, found in problems.items() if found}
    summary = "; ".join(f"{name}: {len(found)} (e.g. {found[0][:400]})" for name, found in failing.items())
    notes = [note for window in outcome.windows for note in window.notes]
    detail = f"{summary} — {outcome.messages} messages, {len(outcome.approvals)} approvals, faults: {notes}"
    assert not failing, detail


def test_short_load_across_two_instances_with_an_action_server_killed(cluster, closing):
    outcome = closing(make_conversations(*SHORT, seed=1), fault=FAULTS["action server killed"],
                       fault_name="action server killed")
    assert outcome.approvals, "no agent approved anything"
    assert_all_hold(check_all(cluster, outcome), outcome)


@pytest.mark.scale
def test_full_load_across_two_instances(cluster, closing, full_load):
    outcome = closing(make_conversations(*full_load, seed=2))
    assert len(outcome.approvals) >= full_load[0]
    assert_all_hold(check_all(cluster, outcome), outcome)


@pytest.mark.scale
@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "postgres restarted"])
def test_full_load_with_a_fault(cluster, fault, closing, full_load):
    outcome = closing(make_conversations(*full_load, seed=3), fault=FAULTS[fault], fault_name=fault)
    assert_all_hold(check_all(cluster, outcome), outcome)


@pytest.fixture(scope="module")
def postgres_outage(cluster, full_load):
    """One full load run with PostgreSQL restarted in the middle (the tracker store, the event broker
    and the suggestion store down together), shared by the two tests below."""
    outcome = run_load(cluster, make_conversations(*full_load, seed=4), fault=FAULTS["postgres restarted"],
                       fault_name="postgres restarted")
    yield outcome, check_all(cluster, outcome)
    close_run(cluster, outcome)


@pytest.mark.scale
def test_full_load_with_postgres_restarted(cluster, postgres_outage):
    outcome, problems = postgres_outage
    # Messages taken while the tracker store was down are what the next test is about.
    problems = {name: found for name, found in problems.items() if name not in ("trackers", "cases")}
    assert_all_hold(problems, outcome)


@pytest.mark.scale
def test_while_postgres_is_down_customers_are_asked_to_retry(cluster, postgres_outage):
    outcome, problems = postgres_outage
    assert refused_while_down(outcome) == [] and problems["trackers"] == []
    assert_all_hold({"cases": problems["cases"]}, outcome)
