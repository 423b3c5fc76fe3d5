"""NLU benchmark: per-intent precision/recall/F1, macro-F1, confusions, latency, training time.

Runs the current model (trained first if stale) on the project's dev set
(tests/nlu_dev/dev.tsv) and on the real customer messages in ../shared/eval/nlu_eval.tsv
(read in place, never copied). Prints Markdown tables for bench/RESULTS.md.

    .venv/bin/python bench/nlu.py [--errors] [--no-eval]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kefu_rasa.dev.evaluation import load_agent, load_tsv, markdown_table, predict, score  # noqa: E402
from assist.settings import get_settings  # noqa: E402
from kefu_rasa.dev.model_cache import ensure_model, training_record  # noqa: E402

DEV = ROOT / "tests" / "nlu_dev" / "dev.tsv"
REAL = get_settings().eval_messages


def main() -> int:
    parser = argparse.ArgumentParser(description="NLU benchmark")
    parser.add_argument("--errors", action="store_true", help="also list misclassified messages (not for committing)")
    parser.add_argument("--no-eval", action="store_true", help="skip ../shared/eval")
    args = parser.parse_args()

    model = ensure_model(log=lambda m: print(m, file=sys.stderr))
    record = training_record(model)
    trained = json.loads(record.read_text())["seconds"] if record.exists() else None
    started = time.perf_counter()
    agent = load_agent(model)
    load_seconds = time.perf_counter() - started

    sets = [("dev set (tests/nlu_dev/dev.tsv, written by the project)", DEV)]
    if args.no_eval:
        pass
    elif REAL.exists():
        sets.append(("real customer messages (../shared/eval/nlu_eval.tsv)", REAL))
    else:
        print(f"note: {REAL} not found, real-message evaluation skipped", file=sys.stderr)

    print(f"# NLU benchmark — model {model.name}\n")
    print(f"command: `.venv/bin/python bench/nlu.py` · {time.strftime('%Y-%m-%d %H:%M')}\n")
    latencies = []
    for name, path in sets:
        predictions = predict(agent, load_tsv(path))
        report, served = score(name, predictions), score(name, predictions, use_served=True)
        latencies.append(report.latency_ms())
        print(markdown_table(report, served))
        print()
        if args.errors:
            for p in predictions:
                if p.top != p.example.intent:
                    print(f"  {p.example.intent:>15} → {p.top:<15} {p.confidence:.2f}  {p.example.text[:60]}")
            print()
    p50 = max(l[0] for l in latencies)
    p95 = max(l[1] for l in latencies)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| figure | value |\n|---|---:|")
    print(f"| training time | {f'{trained:.0f} s' if trained else 'n/a (model trained before timing was recorded)'} |")
    print(f"| model load | {load_seconds:.1f} s |")
    print(f"| parse latency p50 / p95 (in process) | {p50:.1f} / {p95:.1f} ms |")
    print(f"| peak memory of this process | {peak_mb:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
