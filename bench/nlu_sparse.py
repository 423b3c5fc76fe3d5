"""The sparse intent classifier's own settings, compared fast: the component alone
(kefu_rasa/sparse_intents.py, no Rasa training run) on the same seeded 5 folds as bench/nlu_cv.py,
and trained on all the data for the real customer messages (../shared/eval, read in place).

    nice .venv/bin/python bench/nlu_sparse.py        # a minute or two

Texts are normalised as ChineseTextNormalizer does before the classifier sees them. Prints Markdown.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from assist.text.normalize import normalize  # noqa: E402
from kefu_rasa.dev.crossval import load_training_data, split  # noqa: E402
from kefu_rasa.dev.evaluation import Example, Prediction, load_tsv, score  # noqa: E402

REAL = ROOT.parent / "shared" / "eval" / "nlu_eval.tsv"
WATCH = ("complaint", "price_haggle", "delivery_delay")
SHIPPED = {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 3, "C": 10.0}
VARIANTS = [
    ("shipped: char_wb 1–3, C 10", {}),
    ("char 1–3 (n-grams across spaces)", {"analyzer": "char"}),
    ("char_wb 1–2", {"max_ngram": 2}),
    ("char_wb 1–4", {"max_ngram": 4}),
    ("C 3", {"C": 3.0}),
    ("C 30", {"C": 30.0}),
]


def trained(config, messages, workdir: Path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from kefu_rasa.sparse_intents import CharNgramIntentClassifier

    storage_dir = Path(tempfile.mkdtemp(dir=workdir))
    component = CharNgramIntentClassifier.create({**CharNgramIntentClassifier.get_default_config(), **config},
                                                 LocalModelStorage.create(storage_dir), Resource("sparse"),
                                                 ExecutionContext(GraphSchema({}), "bench"))
    component.train(TrainingData([Message(data={"text": normalize(m.get("text")), "intent": m.get("intent")}) for m in messages]))
    return component


def predict(component, examples):
    rows = component.probabilities([normalize(e.text) for e in examples])
    out = []
    for example, row in zip(examples, rows):
        best = max(range(len(row)), key=row.__getitem__)
        out.append(Prediction(example, component.classes[best], component.classes[best], float(row[best]), 0.0))
    return out


def main() -> int:
    data = load_training_data(ROOT / "data" / "nlu")
    folds = list(split(data, 5, 42))
    real = load_tsv(REAL) if REAL.exists() else []
    print("command: `nice .venv/bin/python bench/nlu_sparse.py` · the same 5 seeded folds as bench/nlu_cv.py\n")
    print("| variant | CV macro-F1 | CV complaint | CV price_haggle | CV delivery_delay | real macro-F1 | real complaint |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="kefu-sparse-") as tmp:
        for name, change in VARIANTS:
            config = {**SHIPPED, **change}
            reports = []
            for train, test in folds:
                component = trained(config, train.intent_examples, Path(tmp))
                examples = [Example(m.get("text"), m.get("intent")) for m in test.intent_examples]
                reports.append(score("fold", predict(component, examples)))

            def cell(values):
                return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

            row = [cell([r.macro_f1 for r in reports])] + [cell([r.f1(i) for r in reports]) for i in WATCH]
            if real:
                whole = score("real", predict(trained(config, data.intent_examples, Path(tmp)), real))
                row += [f"{whole.macro_f1:.3f}", f"{whole.f1('complaint'):.2f}"]
            else:
                row += ["–", "–"]
            print(f"| {name} | " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
