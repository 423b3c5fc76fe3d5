"""CharNgramIntentClassifier (kefu_rasa/sparse_intents.py): trains, ranks, blends with the
classifier before it, and persists as plain data through Rasa's model storage."""
from __future__ import annotations

import pytest

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from kefu_rasa.sparse_intents import VOCABULARY_FILE, WEIGHTS_FILE, CharNgramIntentClassifier

EXAMPLES = {
    "complaint": ["质量太差了", "客服态度很差", "东西是坏的 差评", "做工粗糙 不推荐", "什么破质量", "垃圾 后悔买了"],
    "delivery_delay": ["快递怎么还没到", "都五天了还没发货", "物流好几天没更新", "催一下发货", "还没到啊", "怎么还不发货"],
    "price_haggle": ["能便宜点吗", "有优惠券吗", "便宜一点吧老板", "能不能打个折", "包邮吧", "少十块行不行"],
}


@pytest.fixture
def storage(tmp_path):
    (tmp_path / "storage").mkdir()
    return LocalModelStorage.create(tmp_path / "storage")


@pytest.fixture
def context():
    return ExecutionContext(GraphSchema({}), "test-model")


def training_data():
    return TrainingData([Message(data={"text": text, "intent": intent}) for intent, texts in EXAMPLES.items() for text in texts])


def trained(storage, context, **config):
    component = CharNgramIntentClassifier.create({**CharNgramIntentClassifier.get_default_config(), **config},
                                                 storage, Resource("sparse"), context)
    component.train(training_data())
    return component


def parse(component, text, ranking=None):
    message = Message(data={"text": text})
    if ranking is not None:
        message.set("intent_ranking", ranking)
        message.set("intent", ranking[0])
    component.process([message])
    return message


def test_ranks_intents_on_its_own(storage, context):
    component = trained(storage, context)
    for text, intent in [("这质量也太差了吧", "complaint"), ("我的快递还没到", "delivery_delay"), ("老板便宜点", "price_haggle")]:
        message = parse(component, text)
        ranking = message.get("intent_ranking")
        assert message.get("intent")["name"] == intent, ranking
        assert [r["confidence"] for r in ranking] == sorted((r["confidence"] for r in ranking), reverse=True)
        assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
        assert "intent" in message.output_properties and "intent_ranking" in message.output_properties


def test_blends_with_the_ranking_of_the_classifier_before_it(storage, context):
    component = trained(storage, context, sparse_weight=0.25)
    alone = dict(zip(component.classes, component.probabilities(["快递还没到 质量也差"])[0]))
    diet = [{"name": "complaint", "confidence": 0.7}, {"name": "delivery_delay", "confidence": 0.2},
            {"name": "greet", "confidence": 0.1}]
    ranking = {r["name"]: r["confidence"] for r in parse(component, "快递还没到 质量也差", diet).get("intent_ranking")}
    assert ranking["complaint"] == pytest.approx(0.25 * alone["complaint"] + 0.75 * 0.7)
    assert ranking["delivery_delay"] == pytest.approx(0.25 * alone["delivery_delay"] + 0.75 * 0.2)
    assert ranking["greet"] == pytest.approx(0.75 * 0.1)  # an intent only the first classifier knows
    assert ranking["price_haggle"] == pytest.approx(0.25 * alone["price_haggle"])


def test_weight_zero_keeps_the_first_classifier_and_bad_weights_are_refused(storage, context):
    component = trained(storage, context, sparse_weight=0.0)
    diet = [{"name": "price_haggle", "confidence": 0.6}, {"name": "complaint", "confidence": 0.4}]
    message = parse(component, "质量太差了", diet)
    assert message.get("intent")["name"] == "price_haggle"
    with pytest.raises(ValueError, match="sparse_weight"):
        CharNgramIntentClassifier.create({"sparse_weight": 1.5}, storage, Resource("bad"), context)


def test_persists_as_plain_data_and_loads_the_same_model(storage, context):
    component = trained(storage, context, ranking_length=2)
    texts = ["这质量也太差了吧", "我的快递还没到", "便宜点呗", "完全无关的一句话"]
    with storage.read_from(Resource("sparse")) as directory:
        assert sorted(p.name for p in directory.iterdir()) == sorted([VOCABULARY_FILE, WEIGHTS_FILE])
    loaded = CharNgramIntentClassifier.load(component.config, storage, Resource("sparse"), context)
    assert loaded.classes == component.classes
    assert loaded.probabilities(texts) == pytest.approx(component.probabilities(texts))
    assert len(parse(loaded, "我的快递还没到").get("intent_ranking")) == 2


def test_probabilities_are_those_of_the_trained_logistic_regression(storage, context):
    from sklearn.linear_model import LogisticRegression

    component = trained(storage, context)
    model = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced", random_state=42)
    texts = [t for ts in EXAMPLES.values() for t in ts]
    model.fit(component.vectorizer.transform(texts), [i for i, ts in EXAMPLES.items() for _ in ts])
    probe = ["快递太慢了", "优惠一点"]
    assert component.probabilities(probe) == pytest.approx(model.predict_proba(component.vectorizer.transform(probe)), abs=1e-4)


def test_an_untrained_component_loads_and_leaves_messages_alone(storage, context):
    component = CharNgramIntentClassifier.load({}, storage, Resource("never-trained"), context)
    message = parse(component, "你好", [{"name": "greet", "confidence": 0.9}])
    assert message.get("intent")["name"] == "greet"
