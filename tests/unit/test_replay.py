"""bench/replay.py: the measures, and a smoke run over the real dialogues (read in place)."""
from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import pytest

from assist.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
DIALOGUES = get_settings().eval_dialogues


def _replay_module():
    spec = importlib.util.spec_from_file_location("bench_replay", ROOT / "bench" / "replay.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


replay = _replay_module()


def test_ngram_overlap():
    assert replay.ngram_f1("您好，马上帮您查", "您好，马上帮您查！") == 1.0
    assert replay.ngram_f1("快递到了", "退款多久") == 0.0
    assert 0 < replay.ngram_f1("我马上帮您查一下快递", "我帮您查一下") < 1
    assert replay.ngram_f1("亲亲[订单x]已经发货", "已经发货") == replay.ngram_f1("亲亲已经发货", "已经发货")
    assert replay.ngram_f1("", "x") == 0.0


def test_a_handed_over_conversation_is_replayed_turn_by_turn():
    dialogues = [{"turns": [
        {"role": "customer", "text": "你好"}, {"role": "agent", "text": "您好"},
        {"role": "customer", "text": "快递五天了还没到，气死了"}, {"role": "agent", "text": "抱歉，我马上帮您催"},
        {"role": "customer", "text": "快点"}, {"role": "agent", "text": "好的"}, {"role": "agent", "text": "已经催了"},
    ]}]
    parse = lambda text: {"intent": {"name": "greet" if text == "你好" else "delivery_delay"}}  # noqa: E731
    result = replay.replay(dialogues, parse)
    assert (result.customer_turns, result.handed_over) == (3, 2)
    assert [t.first for t in result.turns] == [True, False]
    assert result.turns[1].agent == "好的 已经催了"
    assert all(2 <= len(t.drafts) <= 3 for t in result.turns)
    out = io.StringIO()
    replay.print_tables(result, "test", replay.load_policy(), out)
    assert "| every turn handed to a person | 2 |" in out.getvalue()


@pytest.mark.skipif(not DIALOGUES.is_file(), reason=f"{DIALOGUES} not found: the evaluation data lives outside the project")
def test_the_real_dialogues_replay_without_error():
    parse, _ = replay.cue_parser()
    result = replay.replay(replay.load_dialogues(DIALOGUES), parse)
    assert result.dialogues >= 20 and result.handed_over and result.turns
    e = replay.etiquette(result, replay.load_policy())
    assert e["draft_broken"] == 0 and e["replies"] > 0
