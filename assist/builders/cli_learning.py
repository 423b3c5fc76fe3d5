"""The learning loop's commands: `python -m assist acceptance | mine | simulate` (the parser is
in cli.py). They read and write the suggestion store, never the live templates unless a person
applies what they approved."""
from __future__ import annotations

import argparse
import json
from typing import Optional, TextIO

from assist.settings import ROOT, get_settings


def _store(args: argparse.Namespace):
    from assist.store import SuggestionStore

    return SuggestionStore(args.store) if args.store else SuggestionStore()


def _since(days: Optional[float]):
    from datetime import datetime, timedelta, timezone

    return datetime.now(timezone.utc) - timedelta(days=days) if days else None


def cmd_acceptance(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from assist.drafting.acceptance import Acceptance
    from assist.builders.learning_report import render
    from assist.shop.policy import load_policy

    records = _store(args).learning.learning_records(since=_since(args.days))
    if args.json:
        acceptance = Acceptance.from_records(records)
        cells = [{"key": k, "concern": c, "temperament": t, "score": round(acceptance.mean(k, c, t), 4),
                  "shown": v.shown, "approved": v.approved, "edited": v.edited, "rejected": v.rejected,
                  "passed_over": v.passed_over} for (k, c, t), v in sorted(acceptance.tallies.items())]
        out.write(json.dumps({"decisions": acceptance.decisions, "scores": cells}, ensure_ascii=False) + "\n")
        return 0
    out.write(render(records, policy=load_policy(args.policy)))
    return 0


def cmd_mine(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from assist.builders.mining import mine
    from assist.builders.review_files import apply_approved
    from assist.builders.trainingdata import HeldOut

    if args.apply:
        try:
            lines = apply_approved(Path(args.apply), Path(args.data), Path(args.replies) if args.replies else None)
        except (OSError, ValueError) as exc:
            err.write(f"{args.apply}: {exc}\n")
            return 2
        for line in lines or ["nothing marked approve: true"]:
            out.write(line + "\n")
        if any(": added to " in line for line in lines):
            out.write("next: make validate, then make train (NLU) and make evaluate\n")
        return 0
    held_out = HeldOut.load(Path(args.eval) if args.eval else get_settings().eval_dir, ROOT / "tests" / "nlu_dev" / "dev.tsv")
    result = mine(_store(args), Path(args.out), Path(args.data), held_out=held_out, min_support=args.min_support,
                  unsure_below=args.unsure_below, since=_since(args.days))
    clean = sum(1 for v in result.variants if v.clean)
    out.write(f"mined {result.decisions} decisions: {clean} reply variant(s) proposed"
              f"{f' (+{len(result.variants) - clean} failing the checks, listed with why)' if len(result.variants) > clean else ''}, "
              f"{len(result.examples)} NLU example(s) proposed\n")
    for v in result.variants[:5]:
        out.write(f"  {v.concern}.{v.stage}.{v.tone} ×{v.support}{'' if v.clean else ' (fails checks)'}: {v.text}\n")
    for e in result.examples[:5]:
        out.write(f"  {e.intent}: {e.text}   [{e.why}]\n")
    for path in result.files:
        out.write(f"wrote {path}\n")
    out.write("review them, set approve: true on what you keep, then: python -m assist mine --apply FILE\n")
    return 0


def cmd_simulate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from assist.builders.simulation import simulate

    if args.store.startswith("sqlite:///"):
        Path(args.store[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    run, _ = simulate(args.cases, args.seed, learning=not args.no_learning, store_url=args.store)
    out.write(f"{args.cases} simulated decisions written to {args.store}; top-ranked draft sent unchanged:\n")
    for start in range(0, args.cases, 100):
        w = run.window(start, start + 100)
        out.write(f"  cases {start + 1}-{min(args.cases, start + 100)}: {w['top1']:.0%}\n")
    out.write(f"try: python -m assist acceptance --store {args.store}\n     python -m assist mine --store {args.store}\n")
    return 0
