"""bench/replay.py through the running stack: two real dialogues (read in place from
../shared/eval, never copied) replayed over Rasa's REST channel, every turn processed and recorded."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from assist.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checks = _load("replay_checks")
replay = _load("replay")


DIALOGUES_PATH = get_settings().eval_dialogues


@pytest.mark.slow
def test_two_real_dialogues_replay_through_the_stack(stack, tmp_path):
    if not DIALOGUES_PATH.is_file():
        pytest.skip(f"{DIALOGUES_PATH} not found: the evaluation data lives outside the project (../shared/eval)")
    dialogues = replay.load_dialogues(DIALOGUES_PATH)[:2]
    out = tmp_path / "turns.jsonl"
    records, seconds = replay.run_replay(stack, dialogues, out)
    assert len(records) == sum(len(d["turns"]) for d in dialogues)
    assert [json.loads(line)["turn"] for line in out.read_text(encoding="utf-8").splitlines()] == [r["turn"] for r in records]
    customer = [r for r in records if r["role"] == "customer"]
    assert all(r["flags"]["processed"] == "ok" for r in customer)
    for r in customer:
        assert r["case_open"] == bool(r["reading"]) == bool(r["drafts"])
    assert all(r["sent"] in ("delivered", "merged") for r in records if r["role"] == "agent" and r["case_open"])
    assert checks.figures(records, dialogues, seconds)["customer_turns"] == len(customer)
