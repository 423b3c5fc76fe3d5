"""N-fold cross-validation of the training data: per-intent F1 as mean ± standard deviation
across folds, so pipelines are compared by how stable they are, not by one number.

    python -m kefu_rasa.dev.crossval [--config config.yml] [--folds 5] [--seed 42]

The folds are stratified by intent and seeded, so two configurations are always compared on
the same splits. Each fold trains an NLU model on the other folds (`rasa.model_training.train_nlu`:
seconds for config.yml, 2–3 minutes for a pipeline with DIET) and scores the held-out fold with the same code as the dev and evaluation sets
(kefu_rasa/evaluation.py). A fold's predictions are kept in models/cv/ under a hash of what
made them (config, fold data, jieba dictionary, our component code), so re-running a
comparison, or `make evaluate FOLDS=5` after bench/nlu_cv.py, trains nothing again.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from kefu_rasa.dev.evaluation import FALLBACK, Example, Prediction, Report, score
from kefu_rasa.dev.model_cache import ROOT

CACHE = ROOT / "models" / "cv"
# Code that changes what a trained model predicts, besides config and data.
CODE = ("kefu_rasa/components.py", "kefu_rasa/sparse_intents.py", "assist/text/normalize.py")


@dataclass
class CrossValidation:
    name: str
    folds: List[Report]          # one per held-out fold
    seconds: float               # training and scoring time (0 when every fold came from the cache)

    def intents(self) -> List[str]:
        return sorted({s.intent for report in self.folds for s in report.scores})

    def f1s(self, intent: str) -> List[float]:
        return [report.f1(intent) for report in self.folds]

    def mean_sd(self, intent: str) -> Tuple[float, float]:
        return _mean_sd(self.f1s(intent))

    def macro(self) -> Tuple[float, float]:
        return _mean_sd([report.macro_f1 for report in self.folds])


def _mean_sd(values: Sequence[float]) -> Tuple[float, float]:
    # Sample standard deviation (n - 1): with 5 folds the honest, larger estimate.
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def load_training_data(data: Path):
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(data))


def split(training_data, folds: int, seed: int):
    """(train, test) TrainingData pairs, stratified by intent, the same for every config."""
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    examples = training_data.intent_examples
    labels = [example.get("intent") for example in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_index, test_index in splitter.split(examples, labels):
        parts = []
        for index in (train_index, test_index):
            parts.append(TrainingData(training_examples=[examples[i] for i in index],
                                      entity_synonyms=training_data.entity_synonyms,
                                      regex_features=training_data.regex_features,
                                      lookup_tables=training_data.lookup_tables))
        yield parts[0], parts[1]


def nlu_config(config: Path) -> str:
    """What of a config file changes an NLU model (recipe, language, pipeline), canonical: comments,
    policies and key order do not, so editing them reuses the cached folds."""
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return json.dumps({k: data.get(k) for k in ("recipe", "language", "pipeline")}, sort_keys=True, ensure_ascii=False)


def _key(config: Path, train_yaml: str, test: Sequence[Example], extra: str = "") -> str:
    digest = hashlib.sha256()
    digest.update(nlu_config(config).encode())
    digest.update(train_yaml.encode())
    digest.update("\n".join(f"{e.intent}\t{e.text}" for e in test).encode())
    for name in CODE:
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    for path in sorted((ROOT / "data" / "dict").glob("*")):
        digest.update(path.read_bytes())
    digest.update(extra.encode())
    return digest.hexdigest()[:16]


def _to_json(predictions: Sequence[Prediction], rankings: Sequence[List[Dict]]) -> List[Dict]:
    return [{"text": p.example.text, "gold": p.example.intent, "served": p.served, "top": p.top,
             "confidence": p.confidence, "seconds": p.seconds, "ranking": r}
            for p, r in zip(predictions, rankings)]


def _from_json(rows: Sequence[Dict]) -> List[Prediction]:
    return [Prediction(Example(r["text"], r["gold"]), r["served"], r["top"], r["confidence"], r["seconds"]) for r in rows]


async def _parse_all(agent, examples: Sequence[Example]):
    predictions, rankings = [], []
    for example in examples:
        started = time.perf_counter()
        parsed = await agent.parse_message(example.text)
        elapsed = time.perf_counter() - started
        ranking = [{"name": r["name"], "confidence": float(r["confidence"])} for r in parsed.get("intent_ranking", [])]
        real = [r for r in ranking if r["name"] != FALLBACK]
        top = real[0] if real else {"name": FALLBACK, "confidence": 0.0}
        predictions.append(Prediction(example, parsed["intent"]["name"], top["name"], top["confidence"], elapsed))
        rankings.append(ranking)
    return predictions, rankings


def train_and_predict(config: Path, train_file: Path, examples: Sequence[Example], workdir: Path):
    """Train an NLU model on one file, parse `examples` with it: (predictions, rankings)."""
    import asyncio

    import rasa.model_training

    from kefu_rasa.dev.evaluation import load_agent

    model = rasa.model_training.train_nlu(str(config), str(train_file), str(workdir), fixed_model_name="fold")
    if not model:
        raise RuntimeError(f"training on {train_file} with {config} produced no model")
    agent = load_agent(Path(model))
    try:
        return asyncio.run(_parse_all(agent, examples))
    finally:
        Path(model).unlink(missing_ok=True)


def cross_validate(config: Path = ROOT / "config.yml", data: Path = ROOT / "data" / "nlu", folds: int = 5,
                   seed: int = 42, name: Optional[str] = None, cache: Path = CACHE,
                   log: Callable[[str], None] = print) -> CrossValidation:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    config = Path(config).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    training_data = load_training_data(data)
    reports: List[Report] = []
    started = time.monotonic()
    trained = 0
    with tempfile.TemporaryDirectory(prefix="kefu-cv-") as tmp:
        workdir = Path(tmp)
        for index, (train, test) in enumerate(split(training_data, folds, seed), start=1):
            train_yaml = RasaYAMLWriter().dumps(train)
            examples = [Example(m.get("text"), m.get("intent")) for m in test.intent_examples]
            path = cache / f"{_key(config, train_yaml, examples, f'{folds}/{seed}/{index}')}.json"
            if path.exists():
                predictions = _from_json(json.loads(path.read_text(encoding="utf-8"))["predictions"])
                log(f"  fold {index}/{folds}: from the cache ({path.name})")
            else:
                log(f"  fold {index}/{folds}: training on {len(train.intent_examples)} examples, "
                    f"testing on {len(examples)} ({config.name})")
                train_file = workdir / "train.yml"
                train_file.write_text(train_yaml, encoding="utf-8")
                fold_started = time.monotonic()
                predictions, rankings = train_and_predict(config, train_file, examples, workdir)
                trained += 1
                path.write_text(json.dumps({"config": str(config), "fold": index, "folds": folds, "seed": seed,
                                            "seconds": round(time.monotonic() - fold_started, 1),
                                            "predictions": _to_json(predictions, rankings)},
                                           ensure_ascii=False), encoding="utf-8")
            reports.append(score(f"fold {index}", predictions))
    return CrossValidation(name or config.name, reports, time.monotonic() - started if trained else 0.0)


def train_and_score(config: Path, data: Path, held_out: Dict[str, Sequence[Example]], cache: Path = CACHE,
                    log: Callable[[str], None] = print) -> Tuple[Dict[str, Report], float]:
    """Train one NLU model on all of `data` and score each held-out set with it (never trained
    on): ({set name: Report}, training seconds). Cached like the folds."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    config = Path(config).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    train_yaml = RasaYAMLWriter().dumps(load_training_data(data))
    examples = [e for name in sorted(held_out) for e in held_out[name]]
    path = cache / f"{_key(config, train_yaml, examples, 'all:' + ','.join(sorted(held_out)))}.json"
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        log(f"  all data: from the cache ({path.name})")
    else:
        log(f"  all data: training on every example ({config.name}), scoring {', '.join(sorted(held_out))}")
        with tempfile.TemporaryDirectory(prefix="kefu-cv-") as tmp:
            train_file = Path(tmp) / "train.yml"
            train_file.write_text(train_yaml, encoding="utf-8")
            started = time.monotonic()
            import rasa.model_training

            model = rasa.model_training.train_nlu(str(config), str(train_file), tmp, fixed_model_name="all")
            seconds = time.monotonic() - started
            import asyncio

            from kefu_rasa.dev.evaluation import load_agent

            agent = load_agent(Path(model))
            stored = {"config": str(config), "seconds": round(seconds, 1), "sets": {}}
            for name in sorted(held_out):
                predictions, rankings = asyncio.run(_parse_all(agent, held_out[name]))
                stored["sets"][name] = _to_json(predictions, rankings)
        path.write_text(json.dumps(stored, ensure_ascii=False), encoding="utf-8")
    reports = {name: score(name, _from_json(rows)) for name, rows in stored["sets"].items()}
    return reports, float(stored["seconds"])


def markdown(results: Sequence[CrossValidation], highlight: Sequence[str] = ()) -> str:
    """One row per intent, one column per pipeline: F1 mean ± sd over the folds."""
    intents = sorted({i for r in results for i in r.intents()})
    head = "| intent | " + " | ".join(r.name for r in results) + " |"
    lines = [head, "|---|" + "---:|" * len(results)]

    def cell(mean_sd: Tuple[float, float]) -> str:
        return f"{mean_sd[0]:.3f} ± {mean_sd[1]:.3f}"

    lines.append("| **macro-F1** | " + " | ".join(f"**{cell(r.macro())}**" for r in results) + " |")
    for intent in intents:
        name = f"**{intent}**" if intent in highlight else intent
        lines.append(f"| {name} | " + " | ".join(cell(r.mean_sd(intent)) for r in results) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kefu_rasa.dev.crossval", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(list(argv) if argv is not None else None)
    result = cross_validate(args.config, args.data, args.folds, args.seed)
    print(markdown([result], highlight=("complaint", "price_haggle", "delivery_delay")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
