"""Mood on real customer text, read in place from ../shared/eval (never copied)."""
import csv

import pytest

from assist.drafting.situation import build_situation
from assist.settings import get_settings

EVAL = get_settings().eval_messages
pytestmark = pytest.mark.skipif(not EVAL.is_file(), reason=f"evaluation data not found at {EVAL}; it lives outside the project")


def rows():
    with EVAL.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def share(selected, wanted):
    hits = sum(1 for r in selected if build_situation(r["text"]).mood in wanted)
    return hits / len(selected)


def test_abusive_rows_come_out_angry_or_abusive():
    abusive = [r for r in rows() if r["mood"] == "abusive"]
    assert abusive
    assert share(abusive, ("angry", "abusive")) >= 0.9


def test_greet_thanks_and_order_status_rows_come_out_calm():
    calm = [r for r in rows() if r["intent"] in ("greet", "thanks", "order_status")]
    assert calm
    assert share(calm, ("calm",)) >= 0.9


def test_every_row_drafts_without_error():
    from assist.drafting.composer import compose

    for r in rows():
        assert 2 <= len(compose(build_situation(r["text"]))) <= 3
