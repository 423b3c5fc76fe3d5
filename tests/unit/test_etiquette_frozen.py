"""The final exam of issue #18: the etiquette checker on the frozen set of agent-style replies
(tests/etiquette_frozen/, written by a reviewer with no stake in the checker). Rules are tuned
against the project's own pairs in test_assist_checker.py, never against these lines."""
import hashlib
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FROZEN = ROOT / "tests" / "etiquette_frozen" / "replies.tsv"
# The set as the reviewer handed it over (tests/etiquette_frozen/README.md): never edited.
SHA256 = "51cf2889097a661fe75297c46f4d507dd9b544ac7df2a9e905d5d3bf8d006f9a"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_etiquette", ROOT / "bench" / "etiquette.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _bench_module()


def test_the_set_is_the_one_the_reviewer_wrote():
    assert hashlib.sha256(FROZEN.read_bytes()).hexdigest() == SHA256
    rows = bench.read_set(FROZEN)
    assert sum(label == "good" for _, label in rows) >= 60 and sum(label == "bad" for _, label in rows) >= 60


def test_good_replies_pass_and_bad_ones_are_blocked():
    exam = bench.run_exam(bench.read_set(FROZEN))
    assert exam.good_rate >= 0.95, f"good replies with no block finding: {exam.good_rate:.1%}"
    assert exam.bad_rate >= 0.95, f"bad replies with a block finding: {exam.bad_rate:.1%}"
