"""kefu_rasa/crossval.py without training anything: seeded stratified folds, per-fold scores as
mean ± sd, and the cache that lets `make evaluate FOLDS=5` reuse what bench/nlu_cv.py trained.
(Real cross-validation trains 5 models: it runs in bench/nlu_cv.py and make evaluate, not here.)"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kefu_rasa.dev import crossval
from kefu_rasa.dev.evaluation import Prediction

TEXTS = {
    "complaint": ["质量太差", "态度恶劣", "东西坏了", "做工粗糙", "垃圾", "差评", "坑人", "骗子店", "太失望", "不推荐"],
    "delivery_delay": ["还没到", "催一下", "快点发货", "物流不动", "五天了", "怎么还不发", "卡住了", "急用", "太慢了", "还在路上"],
    "greet": ["你好", "在吗", "有人吗", "哈喽", "您好", "亲在吗", "hi", "早上好", "晚上好", "客服在吗"],
}


@pytest.fixture
def data(tmp_path) -> Path:
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in TEXTS.items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {t}" for t in texts]
    path = tmp_path / "nlu.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(textwrap.dedent("""
        language: zh
        pipeline:
          - name: WhitespaceTokenizer
        """), encoding="utf-8")
    return path


def test_folds_are_stratified_seeded_and_cover_every_example_once(data):
    training_data = crossval.load_training_data(data)
    first = [[m.get("text") for m in test.intent_examples] for _, test in crossval.split(training_data, 5, 42)]
    again = [[m.get("text") for m in test.intent_examples] for _, test in crossval.split(training_data, 5, 42)]
    other = [[m.get("text") for m in test.intent_examples] for _, test in crossval.split(training_data, 5, 7)]
    assert first == again and first != other
    assert sorted(t for fold in first for t in fold) == sorted(t for texts in TEXTS.values() for t in texts)
    for fold in first:
        assert all(sum(t in texts for t in fold) == 2 for texts in TEXTS.values())  # 10 per intent / 5 folds
    for train, test in crossval.split(training_data, 5, 42):
        assert not {m.get("text") for m in train.intent_examples} & {m.get("text") for m in test.intent_examples}


def test_scores_per_fold_as_mean_and_sd_and_reuses_the_cache(data, config, tmp_path, monkeypatch):
    calls = []

    def fake_train_and_predict(config_path, train_file, examples, workdir):
        calls.append(len(examples))
        # Right on everything but the first complaint of the fold, which it calls a delay.
        first = next(i for i, e in enumerate(examples) if e.intent == "complaint")
        predictions = [Prediction(e, e.intent if i != first else "delivery_delay", e.intent if i != first else "delivery_delay", 0.9, 0.001)
                       for i, e in enumerate(examples)]
        return predictions, [[{"name": p.top, "confidence": 0.9}] for p in predictions]

    monkeypatch.setattr(crossval, "train_and_predict", fake_train_and_predict)
    result = crossval.cross_validate(config, data, folds=5, seed=42, cache=tmp_path / "cv", log=lambda m: None)
    assert calls == [6] * 5
    assert result.intents() == ["complaint", "delivery_delay", "greet"]
    # Per fold: complaint recall 1/2, precision 1 → F1 2/3; delivery_delay precision 2/3, recall 1 → 0.8.
    assert result.mean_sd("complaint") == pytest.approx((2 / 3, 0.0))
    assert result.mean_sd("delivery_delay") == pytest.approx((0.8, 0.0))
    assert result.mean_sd("greet") == pytest.approx((1.0, 0.0))
    table = crossval.markdown([result], highlight=["complaint"])
    assert "| **complaint** | 0.667 ± 0.000 |" in table and "| **macro-F1** |" in table

    again = crossval.cross_validate(config, data, folds=5, seed=42, cache=tmp_path / "cv", log=lambda m: None)
    assert calls == [6] * 5 and again.seconds == 0.0  # every fold from the cache
    assert again.f1s("complaint") == result.f1s("complaint")

    config.write_text("# a comment and policies do not change the NLU model\n" + config.read_text(encoding="utf-8")
                      + "policies:\n  - name: RulePolicy\n", encoding="utf-8")
    crossval.cross_validate(config, data, folds=5, seed=42, cache=tmp_path / "cv", log=lambda m: None)
    assert calls == [6] * 5

    config.write_text(config.read_text(encoding="utf-8").replace("policies:", "  - name: CountVectorsFeaturizer\npolicies:"),
                      encoding="utf-8")
    crossval.cross_validate(config, data, folds=5, seed=42, cache=tmp_path / "cv", log=lambda m: None)
    assert calls == [6] * 10  # another pipeline trains its own folds


def test_sd_is_the_sample_standard_deviation():
    assert crossval._mean_sd([0.8, 0.9, 1.0]) == pytest.approx((0.9, 0.1))
    assert crossval._mean_sd([0.5]) == (0.5, 0.0)
