"""`make evaluate`: how good the bot and the drafts are, as one page for bot builders.

    python -m kefu_rasa.dev.report [--folds 5] [--no-eval] [--no-stories] [--out reports]

1. model   trained first if data or config changed (Rasa prints its progress)
2. NLU     per-intent precision/recall/F1, confusion matrix (PNG and text) and every message
           it got wrong, with what it predicted: on the dev set (tests/nlu_dev/dev.tsv) and on
           ../shared/eval/nlu_eval.tsv (read in place; its wrong messages stay in reports/,
           which git ignores); with --folds N, N-fold cross-validation of the training data
3. stories `rasa test core` on tests/stories
4. drafts  every template composed over a grid of situations (assist/builders/coverage.py)
5. in use  what agents did with the drafts, from the suggestion store (assist/builders/learning_report.py)

Writes reports/README.md and reports/index.html (the summary), reports/nlu/ and reports/core/.
Exit code 1 when a test story fails or a draft breaks an etiquette rule.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kefu_rasa.dev.model_cache import ROOT  # noqa: E402
from assist.settings import get_settings  # noqa: E402

DEV = ROOT / "tests" / "nlu_dev" / "dev.tsv"
EVAL = get_settings().eval_messages
FALLBACK = "nlu_fallback"


def step(n: int, total: int, what: str) -> None:
    print(f"\n[{n}/{total}] {what}", flush=True)


# ---- NLU -------------------------------------------------------------------------------------

def confusion(predictions, labels: Optional[Sequence[str]] = None) -> Tuple[List[str], List[List[int]]]:
    pairs = Counter((p.example.intent, p.top) for p in predictions)
    labels = list(labels or sorted({g for g, _ in pairs} | {p for _, p in pairs}))
    return labels, [[pairs[(g, p)] for p in labels] for g in labels]


def confusion_text(labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> str:
    short = [label[:8] for label in labels]
    width = max(len(label) for label in labels)
    lines = ["gold \\ predicted".ljust(width) + " " + " ".join(f"{s:>8}" for s in short)]
    for label, row in zip(labels, matrix):
        lines.append(label.ljust(width) + " " + " ".join(f"{(n if n else '.'):>8}" for n in row))
    return "\n".join(lines)


def confusion_png(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(5.0, 0.55 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)))
    ax.set_yticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    peak = max((max(row) for row in matrix), default=0) or 1
    for i, row in enumerate(matrix):
        for j, n in enumerate(row):
            if n:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=7, color="white" if n > peak / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def predict_with_progress(agent, examples, label: str):
    from tqdm import tqdm

    from kefu_rasa.dev.evaluation import predict

    out = []
    batch = 25
    with tqdm(total=len(examples), desc=f"  parsing {label}", unit="msg", file=sys.stdout, leave=False) as bar:
        for start in range(0, len(examples), batch):
            out += predict(agent, examples[start:start + batch])
            bar.update(min(batch, len(examples) - start))
    return out


def nlu_section(agent, title: str, name: str, path: Path, out_dir: Path, slug: str, held_out_note: bool) -> Tuple[str, Dict]:
    from kefu_rasa.dev.evaluation import load_tsv, markdown_table, score

    examples = load_tsv(path)
    predictions = predict_with_progress(agent, examples, slug)
    report, served = score(name, predictions), score(name, predictions, use_served=True)
    labels, matrix = confusion(predictions)
    png = out_dir / "nlu" / f"{slug}_confusion.png"
    confusion_png(labels, matrix, f"{slug}: gold vs predicted ({len(predictions)} messages)", png)
    text = confusion_text(labels, matrix)
    (out_dir / "nlu" / f"{slug}_confusion.txt").write_text(text + "\n", encoding="utf-8")
    wrong = [p for p in predictions if p.top != p.example.intent]
    errors = out_dir / "nlu" / f"{slug}_errors.md"
    banner = ("> Evaluation-only text, read in place from ../shared/eval: for looking, never for copying into data/ "
              "(`make validate` finds it there).\n\n" if held_out_note else "")
    rows = [f"| {p.example.intent} | {p.top} | {p.confidence:.2f} | {'fallback' if p.served == FALLBACK else ''} | "
            f"{p.example.text.replace('|', '｜')} |" for p in sorted(wrong, key=lambda p: (p.example.intent, p.top, -p.confidence))]
    errors.write_text(f"# {name}: {len(wrong)} of {len(predictions)} messages misclassified\n\n" + banner
                      + "| gold | predicted | confidence | served | message |\n|---|---|---:|---|---|\n" + "\n".join(rows) + "\n",
                      encoding="utf-8")
    (out_dir / "nlu" / f"{slug}_scores.json").write_text(json.dumps(
        {"macro_f1": report.macro_f1, "accuracy": report.accuracy, "fallback_rate": served.fallback_rate(),
         "intents": {s.intent: {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}
                     for s in report.scores}}, indent=2), encoding="utf-8")
    section = [f"### {title}\n", markdown_table(report, served), "",
               f"![confusion matrix](nlu/{png.name})", "",
               "<details><summary>confusion matrix as text</summary>\n\n```\n" + text + "\n```\n</details>\n",
               f"Misclassified: {len(wrong)} — listed with what the model predicted in [nlu/{errors.name}](nlu/{errors.name})."]
    if not held_out_note and wrong:
        section += ["", "| gold | predicted | confidence | message |", "|---|---|---:|---|"]
        section += [f"| {p.example.intent} | {p.top} | {p.confidence:.2f} | {p.example.text.replace('|', '｜')} |"
                    for p in sorted(wrong, key=lambda p: (p.example.intent, p.top))[:40]]
    return "\n".join(section) + "\n", {"macro_f1": report.macro_f1, "accuracy": report.accuracy, "n": len(predictions)}


def cross_validation(folds: int, out_dir: Path) -> Tuple[str, Dict]:
    """Per-intent F1 as mean ± sd over seeded, stratified folds (kefu_rasa/crossval.py; folds
    that bench/nlu_cv.py already trained come from models/cv/)."""
    from kefu_rasa.dev.crossval import cross_validate, markdown

    print(f"  {folds} folds: {folds} models on {folds - 1}/{folds} of the data each (cached in models/cv/)", flush=True)
    result = cross_validate(ROOT / "config.yml", ROOT / "data" / "nlu", folds, log=lambda m: print(m, flush=True))
    table = markdown([result], highlight=("complaint", "price_haggle", "delivery_delay"))
    (out_dir / "nlu" / "cv_scores.json").write_text(json.dumps(
        {"folds": folds, "macro_f1": result.macro(), "intents": {i: result.f1s(i) for i in result.intents()}}, indent=2),
        encoding="utf-8")
    macro, sd = result.macro()
    head = (f"{folds}-fold cross-validation of data/nlu: macro-F1 **{macro:.3f} ± {sd:.3f}** "
            "(F1 per held-out fold, mean ± sample standard deviation)\n\n")
    return head + table + "\n", {"macro_f1": macro, "sd": sd}


# ---- stories ---------------------------------------------------------------------------------

def stories_section(model: Path, out_dir: Path) -> Tuple[str, bool]:
    target = out_dir / "core"
    cmd = [sys.executable, "-m", "rasa", "test", "core", "--stories", "tests/stories", "--model", str(model),
           "--out", str(target), "--fail-on-prediction-errors", "--no-plot"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    failed_file = target / "failed_test_stories.yml"
    failed = failed_file.read_text(encoding="utf-8") if failed_file.exists() else ""
    n_failed = failed.count("- story:")
    stories = (ROOT / "tests" / "stories").rglob("*.yml")
    total = sum(p.read_text(encoding="utf-8").count("- story:") for p in stories)
    ok = result.returncode == 0 and n_failed == 0
    if not ok and not n_failed:
        (target / "rasa_test_core.log").parent.mkdir(parents=True, exist_ok=True)
        (target / "rasa_test_core.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    lines = [f"{total - n_failed} of {total} test stories pass (`rasa test core --stories tests/stories`)."]
    if n_failed:
        lines.append(f"Failed stories, with the predicted actions marked: [core/failed_test_stories.yml](core/failed_test_stories.yml)")
    elif not ok:
        lines.append(f"`rasa test core` exited {result.returncode}: [core/rasa_test_core.log](core/rasa_test_core.log)")
    return "\n".join(lines) + "\n", ok


# ---- the page --------------------------------------------------------------------------------

def write_html(markdown_text: str, path: Path) -> None:
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code", "md_in_html"])
    style = ("body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
             "line-height:1.5}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px}"
             "th{background:#f3f3f3}img{max-width:100%}code,pre{background:#f6f6f6}")
    path.write_text(f"<!doctype html><html lang=\"zh\"><meta charset=\"utf-8\"><title>kefu-assist evaluation</title>"
                    f"<style>{style}</style><body>{body}</body></html>\n", encoding="utf-8")


def _quiet() -> None:
    """Progress lines, not library chatter: no deprecation warnings, no jieba start-up log."""
    import logging
    import warnings

    warnings.simplefilter("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # and in the rasa subprocesses
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    logging.getLogger("jieba").setLevel(logging.WARNING)
    try:
        import jieba

        jieba.setLogLevel(logging.WARNING)
    except ImportError:
        pass


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kefu_rasa.dev.report", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--folds", type=int, default=0, help="also N-fold cross-validation of the training data (slow)")
    parser.add_argument("--no-eval", action="store_true", help="skip ../shared/eval")
    parser.add_argument("--no-stories", action="store_true", help="skip rasa test core")
    parser.add_argument("--store", help="suggestion store URL for the 'drafts in use' part (default $KEFU_STORE_URL or .kefu/)")
    args = parser.parse_args(list(argv) if argv is not None else None)

    started = time.monotonic()
    _quiet()
    out = args.out
    (out / "nlu").mkdir(parents=True, exist_ok=True)
    total = 6
    ok = True
    page = [f"# kefu-assist evaluation — {time.strftime('%Y-%m-%d %H:%M')}\n",
            "Made by `make evaluate` (`python -m kefu_rasa.dev.report`). Files beside this page: `nlu/`, `core/`.\n"]
    headline: List[str] = []

    step(1, total, "model")
    from kefu_rasa.dev.model_cache import ensure_model

    model = ensure_model(log=lambda m: print("  " + m, flush=True))
    page.append(f"Model: `{model.name}`\n")

    step(2, total, "NLU: dev set" + ("" if args.no_eval else " and the real evaluation set"))
    from kefu_rasa.dev.evaluation import load_agent

    print("  loading the model…", flush=True)
    _quiet()
    agent = load_agent(model)
    page.append("## NLU\n")
    section, fig = nlu_section(agent, "Dev set", "tests/nlu_dev/dev.tsv (written by the project)", DEV, out, "dev", False)
    page.append(section)
    headline.append(f"NLU dev set: macro-F1 {fig['macro_f1']:.3f} on {fig['n']} messages")
    if not args.no_eval:
        if EVAL.exists():
            section, fig = nlu_section(agent, "Real customer messages", "../shared/eval/nlu_eval.tsv (read in place)", EVAL, out, "eval", True)
            page.append(section)
            headline.append(f"NLU real messages: macro-F1 {fig['macro_f1']:.3f} on {fig['n']} messages")
        else:
            page.append(f"Real-message evaluation skipped: {EVAL} not found.\n")

    step(3, total, f"NLU: {args.folds}-fold cross-validation" if args.folds else "NLU: cross-validation (skipped; make evaluate FOLDS=5)")
    if args.folds:
        section, fig = cross_validation(args.folds, out)
        page += [f"### Cross-validation\n", section]
        if fig.get("macro_f1") is not None:
            headline.append(f"{args.folds}-fold cross-validation: macro-F1 {fig['macro_f1']:.3f} ± {fig['sd']:.3f}")

    step(4, total, "dialogue: test stories" + (" (skipped)" if args.no_stories else ""))
    if not args.no_stories:
        section, stories_ok = stories_section(model, out)
        ok = ok and stories_ok
        page += ["## Dialogue\n", section]
        headline.append(section.splitlines()[0])

    step(5, total, "drafts: every template over the situation grid")
    from assist.builders.coverage import markdown as grid_markdown
    from assist.builders.coverage import run_grid

    grid = run_grid(progress=lambda concern: print(f"  {concern}", flush=True))
    findings = sum(grid.findings.values())
    ok = ok and findings == 0 and not grid.too_few
    page += ["## Drafts\n", grid_markdown(grid)]
    headline.append(f"Drafts: {grid.situations} situations, {findings} etiquette findings, "
                    f"{len(grid.too_few)} with fewer than 2 drafts")

    step(6, total, "drafts in use: agents' decisions")
    from assist.builders.learning_report import render_from_store
    from assist.shop.policy import load_policy
    from assist.store import SuggestionStore

    try:
        store = SuggestionStore(args.store) if args.store else SuggestionStore()
        page += ["## Drafts in use (agents' decisions)\n", render_from_store(store, policy=load_policy()),
                 "Proposals from these decisions: `python -m assist mine` (reply variants and NLU examples, for review).\n"]
    except Exception as exc:  # a report without this part is still a report
        page += ["## Drafts in use\n", f"Suggestion store unavailable: {exc}\n"]

    page.insert(2, "## Summary\n\n" + "\n".join(f"- {h}" for h in headline) + "\n")
    text = "\n".join(page)
    (out / "README.md").write_text(text, encoding="utf-8")
    write_html(text, out / "index.html")
    print(f"\nreport: {out / 'index.html'}  (Markdown: {out / 'README.md'}) in {time.monotonic() - started:.0f} s")
    for h in headline:
        print("  " + h)
    if not ok:
        print("evaluate: FAILED (a test story failed or a draft broke an etiquette rule; see the report)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
