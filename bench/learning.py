"""Do the drafts learn from agents' decisions? A scripted agent decides on generated cases.

Three runs over the same generated cases (assist/builders/simulation.py: 小林, fixed preferences):
1. rule-based ranking only (no learning);
2. ranking by the acceptance record, reloaded from the store every 20 cases, as the action
   server does;
3. after mining: `python -m assist mine` on run 2's decisions, the clean proposals approved (as
   a bot builder would after reading them) into a copy of the templates, then run 2 again.
Prints the share of cases whose top-ranked draft 小林 sent unchanged, per window of cases.

    .venv/bin/python bench/learning.py [--cases 400] [--seed 11] [--window 50]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assist.drafting.composer import compose  # noqa: E402
from assist.drafting.acceptance import Acceptance  # noqa: E402
from assist.builders.mining import mine  # noqa: E402
from assist.builders.review_files import apply_approved  # noqa: E402
from assist.shop.policy import load_policy  # noqa: E402
from assist.builders.simulation import make_case, simulate  # noqa: E402
from assist.drafting.situation import build_situation  # noqa: E402
from assist.shop.templates import DEFAULT_DIR, load_templates  # noqa: E402


def latency(acceptance: Acceptance, n: int = 2000, seed: int = 5):
    """p50 and p95 ms of situation + compose (with its checks), without and with the learned
    record, each case costed as never seen (per-message caches cleared), the two interleaved."""
    import random

    from assist.drafting import mood as mood_module
    from assist.drafting import situation as situation_module

    policy = load_policy()
    book = load_templates(policy=policy)
    rng = random.Random(seed)
    cases = [make_case(rng) for _ in range(n)]
    variants = (("rule-based", None), ("with the learned record", acceptance))
    times = {name: [] for name, _ in variants}
    for i, case in enumerate(cases):
        for name, acc in (variants if i % 2 else variants[::-1]):
            situation_module._norm.cache_clear()
            situation_module._guesses.cache_clear()
            mood_module._read_mood.cache_clear()
            t0 = time.perf_counter()
            s = build_situation(case["text"], intent=case["intent"], history=case["history"], facts=case["facts"])
            compose(s, policy=policy, templates=book, acceptance=acc)
            times[name].append((time.perf_counter() - t0) * 1000)
    out = {}
    for name, values in times.items():
        values.sort()
        out[name] = (values[len(values) // 2], values[int(0.95 * (len(values) - 1))])
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--refresh", type=int, default=20, help="reload the acceptance record every N cases")
    args = parser.parse_args(list(argv) if argv is not None else None)
    print(f"command: .venv/bin/python bench/learning.py --cases {args.cases} --seed {args.seed} --window {args.window}"
          f" · {time.strftime('%Y-%m-%d %H:%M')}\n")

    started = time.perf_counter()
    baseline, _ = simulate(args.cases, args.seed, learning=False)
    learned, store = simulate(args.cases, args.seed, learning=True, refresh=args.refresh)

    work = Path(tempfile.mkdtemp(prefix="kefu-bench-learning-"))
    replies = work / "replies"
    shutil.copytree(DEFAULT_DIR, replies)
    mined = mine(store, work / "proposals", ROOT / "data")
    proposals = work / "proposals" / "templates.yml"
    clean = [v for v in mined.variants if v.clean]
    # The bench plays the reviewing bot builder: every clean proposal is approved.
    proposals.write_text(proposals.read_text(encoding="utf-8").replace("approve: false", "approve: true"), encoding="utf-8")
    applied = [line for line in apply_approved(proposals, ROOT / "data", replies) if ": added to " in line]
    improved, _ = simulate(args.cases, args.seed, learning=True, refresh=args.refresh, replies=replies)
    seconds = time.perf_counter() - started

    print(f"{args.cases} generated cases (seed {args.seed}) decided by a scripted agent; "
          f"share whose top-ranked draft she sent unchanged, per {args.window} cases:\n")
    print("| cases | rule-based ranking | learning from decisions | + mined variants approved |")
    print("|---|---:|---:|---:|")
    for start in range(0, args.cases, args.window):
        end = min(args.cases, start + args.window)
        print(f"| {start + 1}–{end} | {baseline.window(start, end)['top1']:.0%} | {learned.window(start, end)['top1']:.0%} | "
              f"{improved.window(start, end)['top1']:.0%} |")
    half = args.cases // 2
    print(f"| **second half** | **{baseline.window(half, args.cases)['top1']:.0%}** | **{learned.window(half, args.cases)['top1']:.0%}** | "
          f"**{improved.window(half, args.cases)['top1']:.0%}** |")
    print()
    print("| over all cases | rule-based | learning | + mined variants |")
    print("|---|---:|---:|---:|")
    for key, label in (("approved", "some draft sent unchanged"), ("edited", "a draft edited"), ("rejected", "all drafts rejected")):
        print(f"| {label} | {baseline.window(0, args.cases)[key]:.0%} | {learned.window(0, args.cases)[key]:.0%} | "
              f"{improved.window(0, args.cases)[key]:.0%} |")
    print(f"\nMined from run 2's {mined.decisions} decisions: {len(clean)} clean reply variant(s) "
          f"({len(mined.variants) - len(clean)} more failed the template checks); approved and added:")
    for v in clean:
        print(f"- `{v.concern}.{v.stage}.{v.tone}` ×{v.support}: {v.text}")
    print(f"\n({len(applied)} added to a copy of assist/shop/replies; the project's templates are unchanged.)")
    started = time.perf_counter()
    record = Acceptance.from_store(store)
    load_ms = (time.perf_counter() - started) * 1000
    print(f"\nCost of learning: loading the record of {record.decisions} decisions ({len(record.tallies)} scores) took "
          f"{load_ms:.0f} ms (servers reload it every 300 s, in a thread).\n")
    print("| situation + drafts + checks | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for name, (p50, p95) in latency(record).items():
        print(f"| {name} | {p50:.2f} | {p95:.2f} |")
    print(f"\n{seconds:.0f} s for the three runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
