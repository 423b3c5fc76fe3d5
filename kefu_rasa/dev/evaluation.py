"""Score the trained NLU on labelled text: per-intent precision/recall/F1, confusions, latency.

Shared by bench/nlu.py (prints tables) and the tests (assert floors), so both measure the
same thing. Labelled files are TSV with a header and `text` and `intent` columns; rows
whose intent is '-' are skipped (the evaluation set marks abuse-only rows that way).
"""
from __future__ import annotations

import asyncio
import csv
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

FALLBACK = "nlu_fallback"


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


@dataclass
class Prediction:
    example: Example
    served: str  # what the bot acted on (may be nlu_fallback)
    top: str  # the classifier's best real intent
    confidence: float
    seconds: float


@dataclass
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Report:
    name: str
    predictions: List[Prediction]
    scores: List[IntentScore] = field(default_factory=list)
    macro_f1: float = 0.0
    accuracy: float = 0.0

    def f1(self, intent: str) -> float:
        return next((s.f1 for s in self.scores if s.intent == intent), 0.0)

    def confusions(self, top_n: int = 8) -> List[Tuple[str, str, int]]:
        pairs = Counter((p.example.intent, p.top) for p in self.predictions if p.example.intent != p.top)
        return [(gold, pred, n) for (gold, pred), n in pairs.most_common(top_n)]

    def latency_ms(self) -> Tuple[float, float]:
        ms = sorted(p.seconds * 1000 for p in self.predictions)
        if not ms:
            return 0.0, 0.0
        return statistics.median(ms), ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]

    def fallback_rate(self) -> float:
        return sum(p.served == FALLBACK for p in self.predictions) / max(1, len(self.predictions))


def load_tsv(path: Path) -> List[Example]:
    examples = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if not reader.fieldnames or not {"text", "intent"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs a header with 'text' and 'intent' columns")
        for line, row in enumerate(reader, start=2):
            if not row.get("text") or not row.get("intent"):
                raise ValueError(f"{path}:{line}: empty text or intent")
            if row["intent"] != "-":
                examples.append(Example(row["text"], row["intent"]))
    return examples


def score(name: str, predictions: List[Prediction], use_served: bool = False) -> Report:
    """Scores over the gold intents present; `use_served` counts nlu_fallback as a miss."""
    got = [(p.example.intent, p.served if use_served else p.top) for p in predictions]
    scores = []
    for intent in sorted({gold for gold, _ in got}):
        tp = sum(1 for g, p in got if g == intent and p == intent)
        predicted = sum(1 for _, p in got if p == intent)
        support = sum(1 for g, _ in got if g == intent)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(IntentScore(intent, precision, recall, f1, support))
    macro = sum(s.f1 for s in scores) / len(scores) if scores else 0.0
    accuracy = sum(1 for g, p in got if g == p) / len(got) if got else 0.0
    return Report(name, predictions, scores, macro, accuracy)


def load_agent(model: Path):
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Rasa's structured logger prints every parse at debug level unless configured.
    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)

    return Agent.load(str(model))


async def _predict(agent, examples: Sequence[Example]) -> List[Prediction]:
    out = []
    for example in examples:
        started = time.perf_counter()
        parsed = await agent.parse_message(example.text)
        elapsed = time.perf_counter() - started
        ranking = [r for r in parsed.get("intent_ranking", []) if r["name"] != FALLBACK]
        top = ranking[0] if ranking else {"name": FALLBACK, "confidence": 0.0}
        out.append(Prediction(example, parsed["intent"]["name"], top["name"], float(top["confidence"]), elapsed))
    return out


def predict(agent, examples: Sequence[Example]) -> List[Prediction]:
    return asyncio.run(_predict(agent, examples))


def evaluate(agent, name: str, examples: Sequence[Example], use_served: bool = False) -> Report:
    return score(name, predict(agent, examples), use_served=use_served)


def markdown_table(report: Report, served: Optional[Report] = None) -> str:
    lines = [
        f"**{report.name}** — {len(report.predictions)} messages, accuracy {report.accuracy:.3f}, "
        f"macro-F1 **{report.macro_f1:.3f}**"
        + (f" (as served, fallback counted as a miss: {served.macro_f1:.3f}; fallback rate {served.fallback_rate():.1%})" if served else ""),
        "",
        "| intent | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {s.intent} | {s.precision:.2f} | {s.recall:.2f} | {s.f1:.2f} | {s.support} |" for s in report.scores]
    confusions = report.confusions()
    if confusions:
        lines += ["", "Most confused (gold → predicted: count): " + ", ".join(f"{g} → {p}: {n}" for g, p, n in confusions)]
    return "\n".join(lines)
