"""The etiquette checker on the frozen set of agent-style replies (tests/etiquette_frozen/).

A good reply should get no block finding (it can be sent without an override); a bad one should
get at least one. Each reply is checked as an agent's own text, the way the console's edit route
checks it. Prints counts only, never the replies: the set is an exam, not tuning material.

    .venv/bin/python bench/etiquette.py
"""
from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assist.drafting.checker import check  # noqa: E402

FROZEN = ROOT / "tests" / "etiquette_frozen" / "replies.tsv"


def read_set(path: Path = FROZEN) -> List[Tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    bad = [r for r in rows if r["label"] not in ("good", "bad")]
    if bad:
        raise ValueError(f"{path}: labels must be good or bad ({len(bad)} rows are not)")
    return [(r["text"], r["label"]) for r in rows]


def blocking(finding) -> bool:
    # Before findings had a severity, every finding blocked the console's edit route.
    return getattr(finding, "severity", "block") == "block"


@dataclass
class Exam:
    good: int = 0
    bad: int = 0
    good_passed: int = 0
    bad_blocked: int = 0
    block_rules: Counter = field(default_factory=Counter)   # (label, rule) → replies with that block finding
    advice_rules: Counter = field(default_factory=Counter)  # (label, rule) → replies with that advice finding
    good_blocked_by: Counter = field(default_factory=Counter)  # rule → good replies it blocked
    bad_missed_with: Counter = field(default_factory=Counter)  # advice rule (or "-") on missed bad replies

    @property
    def good_rate(self) -> float:
        return self.good_passed / self.good if self.good else 0.0

    @property
    def bad_rate(self) -> float:
        return self.bad_blocked / self.bad if self.bad else 0.0


def run_exam(rows: List[Tuple[str, str]]) -> Exam:
    exam = Exam()
    for text, label in rows:
        findings = check(text)
        block = {f.rule for f in findings if blocking(f)}
        advice = {f.rule for f in findings if not blocking(f)} - block
        for rule in block:
            exam.block_rules[(label, rule)] += 1
        for rule in advice:
            exam.advice_rules[(label, rule)] += 1
        if label == "good":
            exam.good += 1
            exam.good_passed += not block
            exam.good_blocked_by.update(block)
        else:
            exam.bad += 1
            exam.bad_blocked += bool(block)
            if not block:
                exam.bad_missed_with.update(advice or {"-"})
    return exam


def markdown(exam: Exam) -> str:
    lines = [
        "| set | replies | as wanted | rate | goal |",
        "|---|---:|---:|---:|---:|",
        f"| good replies with no block finding | {exam.good} | {exam.good_passed} | {exam.good_rate:.1%} | ≥ 95 % |",
        f"| bad replies with a block finding | {exam.bad} | {exam.bad_blocked} | {exam.bad_rate:.1%} | ≥ 95 % |",
        "",
        "Findings by rule (replies with at least one finding of that rule):",
        "",
        "| rule | severity | on good replies | on bad replies |",
        "|---|---|---:|---:|",
    ]
    for severity, counts in (("block", exam.block_rules), ("advice", exam.advice_rules)):
        for rule in sorted({r for _, r in counts}):
            lines.append(f"| {rule} | {severity} | {counts[('good', rule)]} | {counts[('bad', rule)]} |")
    lines += ["", "Misclassified replies (counts only):", "",
              f"- good replies blocked: {exam.good - exam.good_passed}"
              + (f" — by rule: {_counts(exam.good_blocked_by)}" if exam.good_blocked_by else ""),
              f"- bad replies with no block finding: {exam.bad - exam.bad_blocked}"
              + (f" — their advice findings: {_counts(exam.bad_missed_with)}" if exam.bad_missed_with else "")]
    return "\n".join(lines)


def _counts(counter: Counter) -> str:
    return ", ".join(f"{rule} {n}" for rule, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def main() -> int:
    print(f"command: .venv/bin/python bench/etiquette.py · {time.strftime('%Y-%m-%d %H:%M')}\n")
    rows = read_set()
    print(f"set: {FROZEN.relative_to(ROOT)} ({len(rows)} replies)\n")
    exam = run_exam(rows)
    print(markdown(exam))
    return 0 if exam.good_rate >= 0.95 and exam.bad_rate >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
