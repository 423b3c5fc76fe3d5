"""Training data health: Rasa's validator, counts, token-aligned entities, no leaked eval text."""
from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE_INTENTS = ["complaint", "price_haggle", "delivery_delay", "refund_return", "request_human", "order_status", "product_inquiry"]
SMALL_INTENTS = ["greet", "goodbye", "thanks", "affirm", "deny", "out_of_scope"]


@pytest.fixture(scope="module")
def training_data():
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(ROOT / "data" / "nlu"))


def test_rasa_data_validate_passes():
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--data", "data", "--domain", "domain.yml", "--config", "config.yml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # The only warnings allowed: responses that custom actions or kefu's channels (WeChat's subscribe, image
    # and voice answers) send; the validator can't see those.
    code = [*(ROOT / "actions").glob("*.py"), *(ROOT / "kefu_rasa").glob("*.py")]
    sent_by_actions = set(re.findall(r'"(utter_\w+)"', "".join(p.read_text(encoding="utf-8") for p in code)))
    unused = set(re.findall(r"The utterance '(utter_\w+)' is not used", result.stderr + result.stdout))
    assert unused <= sent_by_actions | {"utter_default"}, unused - sent_by_actions
    assert "Misaligned" not in result.stderr + result.stdout


@pytest.mark.parametrize("intent", CORE_INTENTS)
def test_core_intents_have_at_least_60_examples(training_data, intent):
    assert Counter(m.get("intent") for m in training_data.intent_examples)[intent] >= 60


@pytest.mark.parametrize("intent", SMALL_INTENTS)
def test_other_intents_have_at_least_20_examples(training_data, intent):
    assert Counter(m.get("intent") for m in training_data.intent_examples)[intent] >= 20


def test_one_nlu_file_per_intent(training_data):
    for intent in CORE_INTENTS + SMALL_INTENTS:
        assert (ROOT / "data" / "nlu" / f"{intent}.yml").exists(), intent


def test_no_example_is_labelled_with_two_intents(training_data):
    from assist.text.normalize import normalize

    labels = defaultdict(set)
    for message in training_data.intent_examples:
        labels[normalize(message.get("text"))].add(message.get("intent"))
    conflicts = {text: sorted(intents) for text, intents in labels.items() if len(intents) > 1}
    assert not conflicts


def test_entity_annotations_fall_on_jieba_token_boundaries(training_data):
    """Without the user dictionary jieba splits words such as 七天无理由 and annotations misalign."""
    import jieba

    from assist.text.normalize import normalize_with_map

    tokenizer = jieba.Tokenizer()
    for path in sorted((ROOT / "data" / "dict").iterdir()):
        tokenizer.load_userdict(str(path))
    misaligned = []
    for message in training_data.entity_examples:
        normalized = normalize_with_map(message.get("text"))
        boundaries = {0}
        for _, start, end in tokenizer.tokenize(normalized.text):
            boundaries |= {start, end}
        for entity in message.get("entities"):
            span = normalized.map_span(entity["start"], entity["end"])
            if span and not set(span) <= boundaries:
                misaligned.append(f"{entity['entity']}={entity['value']!r} in {message.get('text')!r}")
    assert not misaligned, "\n".join(misaligned[:30])


def test_dictionary_lines_follow_jieba_format():
    for path in (ROOT / "data" / "dict").iterdir():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            assert re.fullmatch(r"\S+( \d+)?( [a-z]+)?", line), f"{path.name}:{number}: {line!r}"


def test_no_evaluation_sentence_leaked_into_training_data(eval_tsv):
    """../shared/eval is evaluation only: none of its messages may appear in data/."""
    norm = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    texts = {norm(line.split("\t")[0]) for line in eval_tsv.read_text(encoding="utf-8").splitlines()[1:]}
    texts = {t for t in texts if len(t) >= 4}
    leaks = []
    for path in sorted((ROOT / "data").rglob("*.yml")):
        body = norm(path.read_text(encoding="utf-8"))
        leaks += [f"{path.name}: {t}" for t in texts if t in body]
    assert not leaks, leaks
