"""Compare NLU pipelines by stability: 5-fold cross-validation of the training data (per-intent
F1, mean ± standard deviation across folds) and, for a model trained on all of it, the dev set
and the real customer messages in ../shared/eval (read in place, evaluation only).

    nice .venv/bin/python bench/nlu_cv.py [--config bench/configs/diet_only.yml --config config.yml ...] [--folds 5]

Without --config it compares config.yml with every alternative in bench/configs/.

Each fold trains a model (2–3 minutes on two cores with DIET), so a pipeline costs about 15 minutes
the first time; fold results are cached in models/cv/ and a re-run prints at once. Prints Markdown
for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kefu_rasa.dev.crossval import cross_validate, markdown, train_and_score  # noqa: E402
from kefu_rasa.dev.evaluation import FALLBACK, load_tsv  # noqa: E402

DEV = ROOT / "tests" / "nlu_dev" / "dev.tsv"
REAL = ROOT.parent / "shared" / "eval" / "nlu_eval.tsv"
WATCH = ("complaint", "price_haggle", "delivery_delay")
# From DIET alone to the sparse classifier alone (config.yml), by the sparse classifier's share.
DEFAULT_CONFIGS = tuple(ROOT / "bench" / "configs" / f"{name}.yml" for name in ("diet_only", "blend_even", "blend_08", "blend_095")) + (
    ROOT / "config.yml",)


def label(config: Path) -> str:
    return "config.yml (shipped)" if config.resolve() == (ROOT / "config.yml").resolve() else config.stem


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, action="append", help="a pipeline to compare (repeat); default: "
                        + ", ".join(str(c.relative_to(ROOT)) for c in DEFAULT_CONFIGS))
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-eval", action="store_true", help="skip ../shared/eval")
    args = parser.parse_args()
    configs = [c.resolve() for c in (args.config or DEFAULT_CONFIGS)]

    held_out = {"dev": load_tsv(DEV)}
    if not args.no_eval and REAL.exists():
        held_out["real"] = load_tsv(REAL)
    elif not args.no_eval:
        print(f"note: {REAL} not found, real-message evaluation skipped", file=sys.stderr)

    results, full = [], []
    for config in configs:
        print(f"{label(config)}:", file=sys.stderr, flush=True)
        log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
        results.append(cross_validate(config, args.data, args.folds, args.seed, name=label(config), log=log))
        full.append(train_and_score(config, args.data, held_out, log=log))

    print(f"# NLU pipelines compared — {time.strftime('%Y-%m-%d %H:%M')}\n")
    held = sum(len(report.predictions) for report in results[0].folds)
    print("command: `nice .venv/bin/python bench/nlu_cv.py " + " ".join(f"--config {c.relative_to(ROOT)}" for c in configs)
          + f"` · {args.folds} folds of {held} examples, seed {args.seed}\n")
    print(f"**{args.folds}-fold cross-validation of {args.data.relative_to(ROOT)}** — F1 per intent, mean ± sample standard "
          "deviation over the folds (same stratified, seeded folds for every pipeline)\n")
    print(markdown(results, highlight=WATCH))
    print()
    names = sorted({n for reports, _ in full for n in reports})
    for name in names:
        title = {"dev": "dev set (tests/nlu_dev/dev.tsv)", "real": "real customer messages (../shared/eval/nlu_eval.tsv)"}[name]
        print(f"**{title}**, model trained on all the training data — F1\n")
        intents = sorted({s.intent for reports, _ in full for s in reports[name].scores})
        print("| intent | " + " | ".join(r.name for r in results) + " |")
        print("|---|" + "---:|" * len(results))
        print("| **macro-F1** | " + " | ".join(f"**{reports[name].macro_f1:.3f}**" for reports, _ in full) + " |")
        for intent in intents:
            shown = f"**{intent}**" if intent in WATCH else intent
            print(f"| {shown} | " + " | ".join(f"{reports[name].f1(intent):.2f}" for reports, _ in full) + " |")
        print()
    # Parse latency is bench/nlu.py's figure: here models are parsed straight after training.
    # Confidence matters downstream: FallbackClassifier, and `assist mine` proposes messages under 0.6.
    print("| pipeline | NLU training on all data (when it was cached) | sent to fallback, CV folds | dev: median top confidence | dev: top confidence < 0.6 |")
    print("|---|---:|---:|---:|---:|")
    for result, (reports, seconds) in zip(results, full):
        fallback = statistics.mean(sum(p.served == FALLBACK for p in r.predictions) / len(r.predictions) for r in result.folds)
        dev = sorted(p.confidence for p in reports["dev"].predictions)
        print(f"| {result.name} | {seconds:.0f} s | {fallback:.1%} | {statistics.median(dev):.2f} | "
              f"{sum(c < 0.6 for c in dev)} of {len(dev)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
