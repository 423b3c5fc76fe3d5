"""The scripted agent: drafts ranked by her record are accepted more often as the run goes on."""
from __future__ import annotations

import pytest

from assist.builders.simulation import decide, simulate
from assist.drafting.composer import compose
from assist.shop.policy import load_policy
from assist.drafting.situation import build_situation

CASES, WINDOW = 300, 50


@pytest.fixture(scope="module")
def runs():
    baseline, _ = simulate(CASES, seed=11, learning=False, store_url="sqlite://")
    learned, store = simulate(CASES, seed=11, learning=True, refresh=20, store_url="sqlite://")
    return baseline, learned, store


def test_the_acceptance_of_top_ranked_drafts_rises_over_the_run(runs):
    baseline, learned, _ = runs
    first = learned.window(0, WINDOW)["top1"]
    later = learned.window(CASES - 2 * WINDOW, CASES)["top1"]
    assert later >= first + 0.1, (first, later)
    # Same cases without learning: no rise, and clearly below the learning run once it has records.
    assert learned.window(CASES // 2, CASES)["top1"] >= baseline.window(CASES // 2, CASES)["top1"] + 0.15
    assert abs(baseline.window(CASES - 2 * WINDOW, CASES)["top1"] - baseline.window(0, 2 * WINDOW)["top1"]) < 0.15


def test_fewer_edits_when_drafts_learn(runs):
    baseline, learned, _ = runs
    assert learned.window(0, CASES)["edited"] < baseline.window(0, CASES)["edited"]


def test_the_run_repeats_exactly(runs):
    _, learned, _ = runs
    again, _ = simulate(CASES, seed=11, learning=True, refresh=20, store_url="sqlite://")
    assert [s.choice for s in again.steps] == [s.choice for s in learned.steps]


def test_the_scripted_agent_keeps_her_preferences():
    policy = load_policy()
    s = build_situation("转人工", intent="request_human")
    choice = decide(s, compose(s, policy=policy), policy)
    assert choice.action == "edit" and "小时内给您回复" in choice.text  # no draft names a time frame yet
    s = build_situation("能便宜点吗", intent="price_haggle")
    drafts = compose(s, policy=policy)
    choice = decide(s, drafts, policy)
    assert choice.action in ("approve", "edit")
    if choice.action == "approve":
        assert "元券" in drafts[choice.rank - 1].text


def test_decisions_in_the_store_carry_the_template_version(runs):
    _, _, store = runs
    versions = {tuple(sorted(r["versions"].items())) for r in store.learning.learning_records()}
    assert len(versions) == 1 and dict(next(iter(versions)))["templates"].startswith("t-")
